/**
 * The report's stylesheet, inlined into the page: the file must open from an email
 * attachment or a CI artifact with no network, so there are no web fonts, no `url()`
 * and no external sheets. Bar colours are CSS classes (`load-ok|warn|over`) so the SVG
 * markup stays small and the palette lives in one place.
 */
export const REPORT_CSS = `
:root { --ok: #2e7d32; --warn: #e0a100; --over: #c62828; --ink: #1d2330; --muted: #5b6475; --line: #d8dde6;
  --bg: #ffffff; --panel: #f5f7fa; --accent: #1f5fae; --late: #c62828; --on-time: #3a6fc4; }
* { box-sizing: border-box; }
html { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--ink); background: var(--bg); }
body { margin: 0; padding: 24px 32px 48px; max-width: 1180px; margin-inline: auto; line-height: 1.45; font-size: 15px; }
header.site { border-bottom: 3px solid var(--accent); padding-bottom: 12px; margin-bottom: 16px; }
header.site h1 { margin: 0 0 2px; font-size: 26px; }
header.site .kicker { color: var(--muted); font-size: 13px; text-transform: uppercase; letter-spacing: .06em; }
dl.facts { display: flex; flex-wrap: wrap; gap: 4px 22px; margin: 8px 0 0; font-size: 14px; }
dl.facts div { display: flex; gap: 6px; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; font-weight: 600; }
.totals { display: grid; grid-template-columns: repeat(auto-fill, minmax(130px, 1fr)); gap: 10px; margin: 16px 0 8px; }
.total { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; }
.total .num { display: block; font-size: 22px; font-weight: 700; font-variant-numeric: tabular-nums; }
.total .what { color: var(--muted); font-size: 12px; }
nav.toc { font-size: 14px; margin: 10px 0 4px; }
nav.toc a { margin-right: 14px; color: var(--accent); }
section { margin-top: 28px; }
h2 { font-size: 20px; border-bottom: 1px solid var(--line); padding-bottom: 4px; margin-bottom: 10px; }
h3 { font-size: 16px; margin: 14px 0 6px; }
p.note, .empty { color: var(--muted); font-size: 14px; }
details.feed { border: 1px solid var(--line); border-radius: 6px; margin: 10px 0; padding: 4px 12px 8px; background: var(--bg); }
details.feed > summary { cursor: pointer; padding: 6px 0; font-weight: 600; }
details.feed > summary .sub { font-weight: 400; color: var(--muted); margin-left: 8px; }
.tier { display: inline-block; font-size: 12px; font-weight: 600; padding: 0 7px; border-radius: 9px; border: 1px solid currentColor; }
.tier-firm { color: #2e5e2f; } .tier-interruptible { color: #8a5a00; } .tier-curtailable { color: #8c2b2b; }
.legend { display: flex; flex-wrap: wrap; gap: 16px; font-size: 13px; color: var(--muted); margin: 4px 0 8px; }
.legend .sw { display: inline-block; width: 14px; height: 10px; border-radius: 2px; margin-right: 5px; vertical-align: middle; }
.sw.ok { background: var(--ok); } .sw.warn { background: var(--warn); } .sw.over { background: var(--over); }
.sw.asic { background: var(--ok); border-bottom: 4px solid #7c818b; } .sw.on-time { background: var(--on-time); } .sw.late { background: var(--late); }
.sw.marker { width: 2px; height: 14px; background: var(--ink); }
.sw.phases { background: linear-gradient(var(--ok) 0 28%, transparent 28% 36%, var(--warn) 36% 64%, transparent 64% 72%, var(--ok) 72%); }
svg { display: block; max-width: 100%; height: auto; font-size: 12px; }
svg text { fill: var(--ink); }
svg .label { font-weight: 500; }
svg .feed-label { font-weight: 700; font-size: 13px; }
svg .value, svg .tick { fill: var(--muted); font-variant-numeric: tabular-nums; }
svg .track { fill: #eef1f5; stroke: var(--line); }
svg .trunk, svg .branch { stroke: #9aa3b2; stroke-width: 1.5; fill: none; }
svg .node { fill: var(--accent); }
svg .load-ok .load { fill: var(--ok); } svg .load-warn .load { fill: var(--warn); } svg .load-over .load { fill: var(--over); }
svg .asic { fill: var(--ink); fill-opacity: .5; }
svg .phase-track { fill: #f1f3f6; }
svg .p-ok .phase-load { fill: var(--ok); } svg .p-warn .phase-load { fill: var(--warn); } svg .p-over .phase-load { fill: var(--over); }
svg .phase-name { font-size: 9px; fill: var(--muted); }
svg .heaviest .phase-name { font-weight: 700; fill: var(--ink); }
svg text.lvl-warn { fill: #8a5a00; } svg text.lvl-over { fill: var(--over); }
svg .grid { stroke: #eceff4; }
svg .axis-line { stroke: #9aa3b2; }
svg .axis-title { fill: var(--muted); }
svg .on-time .stage { fill: var(--on-time); } svg .late .stage { fill: var(--late); }
svg .response-marker path { stroke: var(--ink); stroke-width: 2; stroke-dasharray: 6 4; }
svg .response-marker text { font-weight: 600; }
table { border-collapse: collapse; width: 100%; font-size: 14px; margin: 6px 0 10px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
thead th { white-space: nowrap; background: var(--panel); font-size: 12px; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.neg { color: var(--over); font-weight: 600; }
.lvl-warn { color: #8a5a00; font-weight: 600; } .lvl-over { color: var(--over); font-weight: 600; }
td .fig { display: block; font-size: 12px; color: var(--muted); font-weight: 400; }
td.heaviest { box-shadow: inset 0 0 0 2px currentColor; }
td.lvl-ok.heaviest { color: var(--ink); }
td.why { font-size: 13px; min-width: 260px; }
.targets { color: var(--muted); font-size: 13px; }
table.stages code, table.pools code, .nw { white-space: nowrap; }
ul.warnings li { margin: 4px 0; }
ul.warnings { padding-left: 20px; }
.late-text { color: var(--late); font-weight: 600; }
.wiring-feed > h3 { font-size: 17px; margin-top: 22px; }
.wiring-feed h3 .sub, .wiring-circuit h4 .sub { font-weight: 400; color: var(--muted); font-size: 13px; margin-left: 6px; }
.wiring-circuit { margin: 8px 0 16px; }
.wiring-circuit h4 { margin: 10px 0 2px; font-size: 15px; }
table.wiring { table-layout: fixed; }
table.wiring thead th { white-space: normal; }
table.wiring th:nth-child(1) { width: 15%; } table.wiring th:nth-child(2) { width: 16%; } table.wiring th:nth-child(3) { width: 11%; }
table.wiring th:nth-child(4) { width: 7%; } table.wiring th:nth-child(5) { width: 14%; } table.wiring th:nth-child(6) { width: 11%; }
table.wiring th:nth-child(7) { width: 10%; } table.wiring th:nth-child(8) { width: 9%; }
table.wiring td:nth-child(-n+3) { overflow-wrap: anywhere; }
table.wiring .cord { white-space: nowrap; margin-right: 8px; }
table.feeds td:first-child, table.circuits td:first-child, table.phases td:first-child { white-space: nowrap; }
table.wiring th.check, table.wiring td.check { width: 48px; text-align: center; }
table.wiring td.check::before { content: ""; display: inline-block; width: 14px; height: 14px; border: 1.5px solid var(--muted); border-radius: 2px; vertical-align: middle; }
table.wiring tfoot td { background: var(--panel); font-size: 13px; }
footer { margin-top: 36px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--line); padding-top: 8px; }
footer dl.provenance { display: flex; flex-wrap: wrap; gap: 2px 22px; margin: 0 0 4px; font-size: 13px; }
footer dl.provenance div { display: flex; gap: 6px; }
footer dl.provenance dd { margin: 0; color: var(--ink); font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }
@media print {
  @page { margin: 12mm; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  body { padding: 0; max-width: none; font-size: 12px; }
  nav.toc { display: none; }
  details.feed { break-inside: avoid; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; }
  section#wiring { break-before: page; }
  .wiring-feed + .wiring-feed { break-before: page; }
  .wiring-circuit { break-inside: avoid; }
  .wiring-circuit h4 { break-after: avoid; }
  table.wiring, table.wiring code { font-size: 11px; }
  table.wiring th, table.wiring td { padding: 3px 4px; }
  table.wiring thead th { font-size: 10px; letter-spacing: 0; }
  footer { break-inside: avoid; }
}
`;

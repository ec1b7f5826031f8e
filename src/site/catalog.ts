/**
 * Hardware catalog: the GPUs and ASIC miners a site can name, with the figures the
 * planner needs. Every figure carries its source in a comment.
 *
 * Power-limit ranges are what `nvidia-smi -q -d POWER` reports as Min/Max Power Limit
 * for the reference board; partner boards differ, so a machine may set its own
 * `gpuMaxWatts` (up to the model's `boardMaxWatts`), and a site may add models or replace
 * built-in ones in its `catalog` (see {@link siteCatalog}). Throughput curves are relative
 * to stock power (1.0 at TDP) and are concave, which the planner's greedy allocation relies
 * on (a test checks it).
 */

/** A GPU model. */
export interface GpuSpec {
  /** Catalog key used in site files, e.g. `rtx-3090`, `h100-sxm`. */
  key: string;
  /** Marketing name, e.g. "NVIDIA GeForce RTX 3090". */
  name: string;
  /** GeForce and CMP cards: outside NVIDIA's datacenter support matrix (driver on the host, no MIG). */
  consumer: boolean;
  /** `sxm` boards sit on an HGX baseboard with NVLink; `pcie` are cards. */
  formFactor: "pcie" | "sxm";
  memoryGiB: number;
  /** Stock board power (TGP/TDP), in W. */
  tdpWatts: number;
  /** Lowest settable power limit, in W. */
  minWatts: number;
  /**
   * `"derived"` where `minWatts` is neither published nor measured on the board but inferred
   * (from a sibling board, a share of TDP): the plan warns that the driver's real minimum may be
   * higher. Absent: from a datasheet or an nvidia-smi capture. A site catalog entry never has it
   * (the operator supplied the figure).
   */
  minWattsSource?: "derived";
  /** Highest settable power limit the planner uses, in W (a machine's `gpuMaxWatts` replaces it). */
  maxWatts: number;
  /**
   * Highest Max Power Limit any board of this model is known to accept, in W: how far a
   * machine's `gpuMaxWatts` may raise `maxWatts` (partner boards with a larger power stage).
   * @default maxWatts
   */
  boardMaxWatts?: number;
  /** Power drawn idle with the driver loaded, in W. */
  idleWatts: number;
  /** Dense FP16 tensor throughput with FP32 accumulate at stock power, in TFLOPS (no sparsity). */
  fp16Tflops: number;
  /**
   * Throughput relative to stock, as `[capWatts, relative]` points with ascending caps;
   * the first point is at `minWatts`, the last at `maxWatts`, and the curve is concave
   * (slopes never increase). Linear between points.
   */
  curve: ReadonlyArray<readonly [capWatts: number, relative: number]>;
  /** DC draw of the rest of a typical host built around this GPU, in W (used when a machine gives no baseWatts). */
  hostBaseWatts: number;
  /** Other spellings accepted in site files and inventories (lowercase). */
  aliases: readonly string[];
  /**
   * The board's own PCIe link where it is narrower than any slot it sits in (NVIDIA CMP
   * mining cards: Gen 1 x4, about 1 GB/s, what a Gen 3 x1 riser gives). The planner treats
   * such a GPU like one on an x1 riser: single-GPU inference pools, never training.
   */
  pcieLinkLimit?: { generation: number; lanes: number };
}

/** An ASIC miner model. */
export interface AsicSpec {
  /** Catalog key used in site files, e.g. `s19j-pro`. */
  key: string;
  name: string;
  /** Wall power at stock settings, in W. */
  watts: number;
  /** Hash rate at stock settings, in TH/s. */
  hashrateThs: number;
  aliases: readonly string[];
}

/*
 * Throughput-vs-cap model (a modelling assumption, not a measurement of any one board).
 *
 * Every curve samples one shared concave function of the cap as a fraction of TDP,
 * p = capWatts / tdpWatts, at the board's minWatts, 0.5/0.7/0.85/0.93 × TDP (rounded to
 * 5 W, only where they lie inside the settable range), TDP, and maxWatts:
 *   p:        0.30  0.50  0.70  0.85  0.93  1.00   (below 0.30: slope 1.5; above 1.00: slope 0.1)
 *   relative: 0.40  0.70  0.90  0.97  0.99  1.00
 * i.e. ~90% of stock throughput at 70% power and +3% at +30% power. Anchors found with
 * the `search` tool:
 *   - Puget Systems, "Quad RTX3090 GPU Wattage Limited MaxQ TensorFlow Performance"
 *     (2020): 350 W → 280 W (80%) kept over 95% of TensorFlow throughput (model: 0.947).
 *   - NVIDIA's A100 PCIe launch (AnandTech/Wccftech, June 2020): the 250 W PCIe A100
 *     reaches up to 90% of the 400 W SXM4 part's performance (62.5% power).
 *   - jeanfbrito.github.io, "RTX 3090 Power Limit: Finding the Sweet Spot" (LLM
 *     inference): <1% loss at 280 W, "below 200 W everything collapses" — hence the
 *     steep low end.
 *   - nodehome.ai, "Power Caps On Three RTX 3090s": gpu-burn lost ~27% going
 *     300 W → 250 W; purely compute-bound kernels fall faster than this model
 *     (it predicts ~7%), memory-bound inference slower. The model is a middle ground
 *     for mixed AI/HPC work; a site can measure its own curve later.
 * The curve is piecewise linear and concave, which the planner's greedy cap allocation
 * relies on; tests/catalog.test.ts checks each curve.
 *
 * Host base watts are engineering estimates (see each group's comment). For SXM systems:
 * NVIDIA datasheet maximum system power minus 8 × GPU TDP, less ~5% for PSU losses (the catalog counts DC draw), rounded down to 100 W; a maximum, so
 * conservative for circuit budgeting.
 */

/** x1-riser mining rig: low-end board + CPU + SSD + fans, per host (engineering estimate, 100–150 W range). */
const MINING_RIG_BASE_WATTS = 120;
/** 4-GPU workstation or entry PCIe server (single socket), per host (engineering estimate). */
const WORKSTATION_BASE_WATTS = 400;
/** 4–8-GPU dual-socket PCIe server: CPUs, DIMMs, NICs, NVMe, fans, per host (engineering estimate, 400–800 W range). */
const PCIE_SERVER_BASE_WATTS = 600;

/** NVIDIA RTX A2000 (6 GB); the 12 GB board below copies it. */
const RTX_A2000: GpuSpec = {
  key: "rtx-a2000",
  name: "NVIDIA RTX A2000",
  consumer: false,
  formFactor: "pcie",
  memoryGiB: 6, // NVIDIA RTX A2000 datasheet: 6 GB GDDR6 with ECC (the 12 GB board is its own entry, rtx-a2000-12gb)
  tdpWatts: 70, // RTX A2000 datasheet: max power consumption 70 W (slot-powered)
  minWatts: 50, // derived: not published; a slot-powered 70 W card's range assumed as narrow as the T4's (60–70 W), rounded down; not verified
  minWattsSource: "derived",
  maxWatts: 70, // = datasheet max power
  idleWatts: 8, // engineering estimate
  fp16Tflops: 31.9, // RTX A2000 datasheet: 63.9 TFLOPS tensor performance with sparsity → 31.9 dense
  curve: [[50, 0.907], [60, 0.972], [65, 0.99], [70, 1]],
  hostBaseWatts: WORKSTATION_BASE_WATTS,
  aliases: ["a2000", "rtxa2000", "rtx-a2000-6gb"],
};

/** The GPU models a site file may name, sorted by key family (consumer, workstation, datacenter). */
export const GPUS: readonly GpuSpec[] = [
  // --- GeForce (consumer): power limits as nvidia-smi -q -d POWER reports for the Founders
  // Edition board (partner boards often allow more). FP16 tensor = dense with FP32 accumulate
  // (what mixed-precision training and inference use; GeForce runs it at half the FP16-
  // accumulate rate, datacenter and workstation cards at full rate), so figures compare
  // across classes; from the NVIDIA Ampere GA102 / Ada AD102 whitepapers' GeForce tables.
  // Idle figures are engineering estimates (driver loaded, no display, P8).
  {
    key: "rtx-3060",
    name: "NVIDIA GeForce RTX 3060",
    consumer: true,
    formFactor: "pcie",
    memoryGiB: 12, // NVIDIA RTX 3060 family spec page: 12 GB GDDR6
    tdpWatts: 170, // NVIDIA spec page: 170 W graphics card power
    minWatts: 100, // nvidia-smi Min Power Limit on the reference board (not re-verified here)
    maxWatts: 170, // nvidia-smi Max Power Limit on the reference board (not re-verified here)
    idleWatts: 12, // engineering estimate
    fp16Tflops: 25.6, // GA10x whitepaper: RTX 3060 peak FP16 tensor with FP32 accumulate, dense (51.2 with FP16 accumulate)
    curve: [[100, 0.788], [120, 0.903], [145, 0.971], [160, 0.992], [170, 1]],
    hostBaseWatts: MINING_RIG_BASE_WATTS,
    aliases: ["rtx3060", "3060", "rtx-3060-12gb"],
  },
  {
    key: "rtx-3070",
    name: "NVIDIA GeForce RTX 3070",
    consumer: true,
    formFactor: "pcie",
    memoryGiB: 8, // NVIDIA spec page: 8 GB GDDR6
    tdpWatts: 220, // NVIDIA spec page: 220 W graphics card power
    minWatts: 100, // nvidia-smi Min Power Limit, Founders Edition (not re-verified here)
    maxWatts: 240, // nvidia-smi Max Power Limit, Founders Edition (not re-verified here)
    idleWatts: 12, // engineering estimate
    fp16Tflops: 40.6, // GA10x whitepaper: RTX 3070 peak FP16 tensor with FP32 accumulate, dense (81.3 with FP16 accumulate)
    curve: [[100, 0.632], [110, 0.7], [155, 0.902], [185, 0.966], [205, 0.99], [220, 1], [240, 1.009]],
    hostBaseWatts: MINING_RIG_BASE_WATTS,
    aliases: ["rtx3070", "3070", "rtx-3070-8gb"],
  },
  {
    key: "rtx-3080",
    name: "NVIDIA GeForce RTX 3080",
    consumer: true,
    formFactor: "pcie",
    memoryGiB: 10, // NVIDIA spec page: 10 GB GDDR6X (the later 12 GB model is not catalogued)
    tdpWatts: 320, // NVIDIA spec page: 320 W graphics card power
    minWatts: 100, // nvidia-smi Min Power Limit, Founders Edition (not re-verified here)
    maxWatts: 370, // nvidia-smi Max Power Limit, Founders Edition (115%; not re-verified here)
    idleWatts: 15, // engineering estimate
    fp16Tflops: 59.5, // GA102 whitepaper: RTX 3080 peak FP16 tensor with FP32 accumulate, dense (119 with FP16 accumulate)
    curve: [[100, 0.419], [160, 0.7], [225, 0.901], [270, 0.967], [300, 0.991], [320, 1], [370, 1.016]],
    hostBaseWatts: MINING_RIG_BASE_WATTS,
    aliases: ["rtx3080", "3080", "rtx-3080-10gb"],
  },
  {
    key: "rtx-3090",
    name: "NVIDIA GeForce RTX 3090",
    consumer: true,
    formFactor: "pcie",
    memoryGiB: 24, // NVIDIA spec page: 24 GB GDDR6X
    tdpWatts: 350, // NVIDIA spec page: 350 W; Puget Systems MaxQ study: "TDP Wattage for the RTX3090 is 350W"
    minWatts: 100, // nvidia-smi Min Power Limit, Founders Edition (not re-verified here)
    maxWatts: 400, // nvidia-smi Max Power Limit, Founders Edition (not re-verified here)
    idleWatts: 20, // engineering estimate (GDDR6X keeps idle higher than GDDR6 cards)
    fp16Tflops: 71, // GA102 whitepaper: RTX 3090 peak FP16 tensor with FP32 accumulate, dense (142 with FP16 accumulate)
    curve: [[100, 0.379], [175, 0.7], [245, 0.9], [300, 0.972], [325, 0.99], [350, 1], [400, 1.014]],
    hostBaseWatts: MINING_RIG_BASE_WATTS,
    aliases: ["rtx3090", "3090", "rtx-3090-24gb"],
  },
  {
    key: "rtx-4090",
    name: "NVIDIA GeForce RTX 4090",
    consumer: true,
    formFactor: "pcie",
    memoryGiB: 24, // NVIDIA spec page: 24 GB GDDR6X
    tdpWatts: 450, // NVIDIA spec page: 450 W total graphics power (Tom's Hardware power-limit study: "450W TBP")
    // nvidia-smi -q -x of a 4090 board (1Panel-dev/1Panel issue #11910): min_power_limit 150.00 W,
    // default 450.00 W; an RTX 4090 capped at 150 W in NVIDIA/open-gpu-kernel-modules issue #483.
    minWatts: 150,
    // The Max Power Limit differs by board: the same capture shows max_power_limit 450.00 W
    // (a board that stops at its default), an AIO board accepted 510–530 W caps
    // (noonghunna/club-3090 issue #697), and the Founders Edition's slider reaches 133 %
    // (600 W, the 12VHPWR connector's rating; not re-verified here). The planner uses the
    // limit every board accepts (its 450 W default); a machine with a board that accepts
    // more sets gpuMaxWatts (up to boardMaxWatts).
    maxWatts: 450,
    boardMaxWatts: 600,
    idleWatts: 20, // engineering estimate
    fp16Tflops: 165.2, // Ada AD102 whitepaper: RTX 4090 peak FP16 tensor with FP32 accumulate, dense (330.3 with FP16 accumulate)
    curve: [[150, 0.45], [225, 0.7], [315, 0.9], [385, 0.971], [420, 0.99], [450, 1]],
    hostBaseWatts: MINING_RIG_BASE_WATTS,
    aliases: ["rtx4090", "4090", "rtx-4090-24gb"],
  },
  // Boards added for issue 9 (what mining farms hold). Same conventions as above. Where NVIDIA
  // publishes no power-limit range, maxWatts is the TGP (every board accepts its default limit;
  // partner boards may accept more: a machine sets gpuMaxWatts) and minWatts is marked
  // "derived" with how (and minWattsSource: "derived", so a plan that uses the model warns). GeForce tensor figures not printed in a whitepaper are derived as
  // tensor cores × boost clock × FLOPs per core per clock with FP32 accumulate (GA10x: 128,
  // from the whitepaper's RTX 3090 row: 71 TFLOPS = 328 × 1.695 GHz × 128; Ada and Blackwell
  // GeForce: 128, from the RTX 4090 row: 165.2 = 512 × 2.52 GHz × 128). Curves are the shared
  // model sampled by modelCurve(tdp, min, max, 3).
  {
    key: "rtx-3060-ti",
    name: "NVIDIA GeForce RTX 3060 Ti",
    consumer: true,
    formFactor: "pcie",
    memoryGiB: 8, // NVIDIA RTX 3060 family spec page: 8 GB GDDR6
    tdpWatts: 200, // NVIDIA spec page: 200 W graphics card power
    minWatts: 100, // derived: the 100 W Min Power Limit of the other GA10x boards here (3060/3070/3080/3090); not verified on this board
    minWattsSource: "derived",
    maxWatts: 200, // = TGP (see the note above this group)
    idleWatts: 12, // engineering estimate
    fp16Tflops: 32.4, // derived: 152 tensor cores × 1.665 GHz boost (spec page) × 128
    curve: [[100, 0.7], [140, 0.9], [170, 0.97], [185, 0.989], [200, 1]],
    hostBaseWatts: MINING_RIG_BASE_WATTS,
    aliases: ["rtx3060ti", "3060ti", "3060-ti", "rtx-3060ti"],
  },
  {
    key: "rtx-3070-ti",
    name: "NVIDIA GeForce RTX 3070 Ti",
    consumer: true,
    formFactor: "pcie",
    memoryGiB: 8, // NVIDIA RTX 3070 family spec page: 8 GB GDDR6X
    tdpWatts: 290, // NVIDIA spec page: 290 W graphics card power
    minWatts: 100, // derived: as the other GA10x boards here; not verified on this board
    minWattsSource: "derived",
    maxWatts: 290, // = TGP
    idleWatts: 15, // engineering estimate (GDDR6X)
    fp16Tflops: 43.5, // derived: 192 tensor cores × 1.77 GHz boost (spec page) × 128
    curve: [[100, 0.467], [145, 0.7], [205, 0.903], [245, 0.968], [270, 0.99], [290, 1]],
    hostBaseWatts: MINING_RIG_BASE_WATTS,
    aliases: ["rtx3070ti", "3070ti", "3070-ti", "rtx-3070ti"],
  },
  {
    key: "rtx-3080-ti",
    name: "NVIDIA GeForce RTX 3080 Ti",
    consumer: true,
    formFactor: "pcie",
    memoryGiB: 12, // NVIDIA RTX 3080 family spec page: 12 GB GDDR6X
    tdpWatts: 350, // NVIDIA spec page: 350 W graphics card power
    minWatts: 100, // derived: as the other GA10x boards here; not verified on this board
    minWattsSource: "derived",
    maxWatts: 350, // = TGP (partner boards that accept more: gpuMaxWatts)
    idleWatts: 18, // engineering estimate (GDDR6X)
    fp16Tflops: 68.2, // derived: 320 tensor cores × 1.665 GHz boost (spec page) × 128
    curve: [[100, 0.379], [175, 0.7], [245, 0.9], [300, 0.972], [325, 0.99], [350, 1]],
    hostBaseWatts: MINING_RIG_BASE_WATTS,
    aliases: ["rtx3080ti", "3080ti", "3080-ti", "rtx-3080ti"],
  },
  {
    key: "rtx-4070-ti",
    name: "NVIDIA GeForce RTX 4070 Ti",
    consumer: true,
    formFactor: "pcie",
    memoryGiB: 12, // NVIDIA RTX 4070 family spec page: 12 GB GDDR6X
    tdpWatts: 285, // NVIDIA spec page: 285 W total graphics power (no Founders Edition)
    minWatts: 95, // derived: one third of TGP as on the RTX 4090 (150 of 450 W), rounded up to 5 W; not verified
    minWattsSource: "derived",
    maxWatts: 285, // = TGP
    idleWatts: 12, // engineering estimate
    fp16Tflops: 80.2, // derived: 240 tensor cores × 2.61 GHz boost (spec page) × 128 (the Ada whitepaper lists this AD104 part as "RTX 4080 12GB")
    curve: [[95, 0.45], [145, 0.709], [200, 0.901], [240, 0.966], [265, 0.99], [285, 1]],
    hostBaseWatts: MINING_RIG_BASE_WATTS,
    aliases: ["rtx4070ti", "4070ti", "4070-ti", "rtx-4070ti"],
  },
  {
    key: "rtx-4080",
    name: "NVIDIA GeForce RTX 4080",
    consumer: true,
    formFactor: "pcie",
    memoryGiB: 16, // NVIDIA spec page: 16 GB GDDR6X
    tdpWatts: 320, // NVIDIA spec page: 320 W total graphics power
    minWatts: 110, // derived: one third of TGP as on the RTX 4090, rounded up to 5 W; not verified
    minWattsSource: "derived",
    maxWatts: 320, // = TGP
    idleWatts: 15, // engineering estimate
    fp16Tflops: 97.5, // Ada whitepaper, RTX 4080 16GB: peak FP16 tensor with FP32 accumulate, dense (= 304 × 2.505 GHz × 128)
    curve: [[110, 0.466], [160, 0.7], [225, 0.901], [270, 0.967], [300, 0.991], [320, 1]],
    hostBaseWatts: MINING_RIG_BASE_WATTS,
    aliases: ["rtx4080", "4080", "rtx-4080-16gb"],
  },
  {
    key: "rtx-5090",
    name: "NVIDIA GeForce RTX 5090",
    consumer: true,
    formFactor: "pcie",
    memoryGiB: 32, // NVIDIA spec page: 32 GB GDDR7
    tdpWatts: 575, // NVIDIA spec page: 575 W total graphics power
    minWatts: 400, // b00nz/mVolt issue #48: the 5090's minimum power cap of 400 W is locked in the VBIOS
    maxWatts: 575, // = TGP
    idleWatts: 30, // engineering estimate
    fp16Tflops: 209.5, // derived: 680 tensor cores × 2.407 GHz boost (spec page) × 128
    curve: [[400, 0.896], [405, 0.902], [490, 0.971], [535, 0.99], [575, 1]],
    hostBaseWatts: MINING_RIG_BASE_WATTS,
    aliases: ["rtx5090", "5090", "rtx-5090-32gb"],
  },
  // --- Workstation (RTX professional): limits as nvidia-smi reports them for the NVIDIA
  // board; these boards allow no cap above TDP. Idle figures are engineering estimates.
  {
    key: "rtx-a4000",
    name: "NVIDIA RTX A4000",
    consumer: false,
    formFactor: "pcie",
    memoryGiB: 16, // NVIDIA RTX A4000 datasheet: 16 GB GDDR6 with ECC
    tdpWatts: 140, // RTX A4000 datasheet: max power consumption 140 W
    minWatts: 100, // nvidia-smi Min Power Limit (not re-verified here)
    maxWatts: 140, // nvidia-smi Max Power Limit = datasheet max power
    idleWatts: 10, // engineering estimate
    fp16Tflops: 76.7, // RTX A4000 datasheet: 153.4 TFLOPS tensor with sparsity → 76.7 dense
    curve: [[100, 0.907], [120, 0.972], [130, 0.99], [140, 1]],
    // Single-slot and popular in ex-mining rigs, but usually sold in workstations.
    hostBaseWatts: WORKSTATION_BASE_WATTS,
    aliases: ["a4000", "rtxa4000", "rtx-a4000-16gb"],
  },
  {
    key: "rtx-a5000",
    name: "NVIDIA RTX A5000",
    consumer: false,
    formFactor: "pcie",
    memoryGiB: 24, // NVIDIA RTX A5000 datasheet: 24 GB GDDR6 with ECC
    tdpWatts: 230, // RTX A5000 datasheet: max power consumption 230 W
    minWatts: 100, // nvidia-smi Min Power Limit (not re-verified here)
    maxWatts: 230, // nvidia-smi Max Power Limit = datasheet max power
    idleWatts: 15, // engineering estimate
    fp16Tflops: 111.1, // RTX A5000 datasheet: 222.2 TFLOPS tensor with sparsity → 111.1 dense
    curve: [[100, 0.602], [115, 0.7], [160, 0.896], [195, 0.969], [215, 0.991], [230, 1]],
    hostBaseWatts: WORKSTATION_BASE_WATTS,
    aliases: ["a5000", "rtxa5000", "rtx-a5000-24gb"],
  },
  RTX_A2000,
  // The 12 GB board, a device of its own ("NVIDIA RTX A2000 12GB" in driver device lists): 12 GB
  // GDDR6, the same GA106 and 70 W slot power as the 6 GB board, so only the memory differs (power
  // and throughput figures copied from the 6 GB entry; not re-verified on a 12 GB board).
  { ...RTX_A2000, key: "rtx-a2000-12gb", name: "NVIDIA RTX A2000 12GB", memoryGiB: 12, aliases: ["a2000-12gb", "rtxa2000-12gb"] },
  {
    key: "rtx-a4500",
    name: "NVIDIA RTX A4500",
    consumer: false,
    formFactor: "pcie",
    memoryGiB: 20, // NVIDIA RTX A4500 datasheet: 20 GB GDDR6 with ECC
    tdpWatts: 200, // RTX A4500 datasheet: max power consumption 200 W
    minWatts: 100, // derived: the 100 W floor nvidia-smi reports on the A4000/A5000 here; not verified on this board
    minWattsSource: "derived",
    maxWatts: 200, // = datasheet max power (RTX boards allow no cap above it)
    idleWatts: 12, // engineering estimate
    fp16Tflops: 94.6, // RTX A4500 datasheet: 189.2 TFLOPS tensor performance with sparsity → 94.6 dense
    curve: [[100, 0.7], [140, 0.9], [170, 0.97], [185, 0.989], [200, 1]],
    hostBaseWatts: WORKSTATION_BASE_WATTS,
    aliases: ["a4500", "rtxa4500", "rtx-a4500-20gb"],
  },
  {
    key: "rtx-a6000",
    name: "NVIDIA RTX A6000",
    consumer: false,
    formFactor: "pcie",
    memoryGiB: 48, // NVIDIA RTX A6000 datasheet: 48 GB GDDR6 with ECC
    tdpWatts: 300, // RTX A6000 datasheet: max power consumption 300 W
    minWatts: 100, // derived: the 100 W floor of the A4000/A5000 here; not verified on this board
    minWattsSource: "derived",
    maxWatts: 300, // = datasheet max power
    idleWatts: 20, // engineering estimate
    fp16Tflops: 154.8, // RTX A6000 datasheet: 309.7 TFLOPS tensor performance with sparsity → 154.8 dense
    curve: [[100, 0.45], [150, 0.7], [210, 0.9], [255, 0.97], [280, 0.99], [300, 1]],
    hostBaseWatts: WORKSTATION_BASE_WATTS,
    aliases: ["a6000", "rtxa6000", "rtx-a6000-48gb"],
  },
  {
    key: "rtx-6000-ada",
    name: "NVIDIA RTX 6000 Ada Generation",
    consumer: false,
    formFactor: "pcie",
    memoryGiB: 48, // NVIDIA RTX 6000 Ada datasheet: 48 GB GDDR6 with ECC
    tdpWatts: 300, // RTX 6000 Ada datasheet: max power consumption 300 W
    minWatts: 100, // nvidia-smi Min Power Limit (not re-verified here)
    maxWatts: 300, // nvidia-smi Max Power Limit = datasheet max power
    idleWatts: 25, // engineering estimate
    fp16Tflops: 364.2, // Ada AD102 whitepaper: RTX 6000 Ada FP16 tensor, dense (728.5 sparse)
    curve: [[100, 0.45], [150, 0.7], [210, 0.9], [255, 0.97], [280, 0.99], [300, 1]],
    hostBaseWatts: PCIE_SERVER_BASE_WATTS,
    aliases: ["rtx-6000-ada-generation", "rtx6000-ada", "rtx-6000ada", "6000-ada"],
  },
  // --- Datacenter PCIe cards.
  {
    key: "l40s",
    name: "NVIDIA L40S",
    consumer: false,
    formFactor: "pcie",
    memoryGiB: 48, // NVIDIA L40S datasheet: 48 GB GDDR6 with ECC
    tdpWatts: 350, // L40S datasheet: max power consumption 350 W
    minWatts: 100, // nvidia-smi Min Power Limit (not re-verified here)
    maxWatts: 350, // nvidia-smi Max Power Limit = datasheet max power
    idleWatts: 35, // engineering estimate (passive card, P8)
    fp16Tflops: 362.05, // L40S datasheet: FP16 tensor 362.05 TFLOPS dense (733 with sparsity)
    curve: [[100, 0.379], [175, 0.7], [245, 0.9], [300, 0.972], [325, 0.99], [350, 1]],
    hostBaseWatts: PCIE_SERVER_BASE_WATTS,
    aliases: ["l40s-48gb"],
  },
  {
    key: "a100-pcie",
    name: "NVIDIA A100 80GB PCIe",
    consumer: false,
    formFactor: "pcie",
    memoryGiB: 80, // NVIDIA A100 80GB PCIe product brief (PB-10577-001): 80 GB HBM2e
    tdpWatts: 300, // PB-10577-001: max power consumption 300 W
    minWatts: 150, // PB-10577-001 power table / nvidia-smi Min Power Limit 150 W (not re-verified here)
    maxWatts: 300, // nvidia-smi Max Power Limit = product-brief max power
    idleWatts: 45, // engineering estimate
    fp16Tflops: 312, // NVIDIA A100 datasheet: FP16 tensor 312 TFLOPS dense (624 sparse)
    curve: [[150, 0.7], [210, 0.9], [255, 0.97], [280, 0.99], [300, 1]],
    hostBaseWatts: PCIE_SERVER_BASE_WATTS,
    aliases: ["a100-80gb-pcie", "a100-pcie-80gb", "a100-pcie-80gb-hbm2e"],
  },
  {
    key: "h100-pcie",
    name: "NVIDIA H100 PCIe",
    consumer: false,
    formFactor: "pcie",
    memoryGiB: 80, // NVIDIA H100 PCIe product brief (PB-11133-001): 80 GB HBM2e
    tdpWatts: 350, // PB-11133-001: "operates unconstrained up to its maximum TDP level of 350 W"
    minWatts: 200, // PB-11133-001 power table / nvidia-smi Min Power Limit 200 W (not re-verified here)
    maxWatts: 350, // PB-11133-001: maximum 350 W
    idleWatts: 45, // engineering estimate
    fp16Tflops: 756, // NVIDIA H100 datasheet (PCIe column): FP16 tensor 1,513 sparse → 756 dense
    curve: [[200, 0.771], [245, 0.9], [300, 0.972], [325, 0.99], [350, 1]],
    hostBaseWatts: PCIE_SERVER_BASE_WATTS,
    aliases: ["h100-80gb-pcie", "h100-pcie-80gb", "h100-pcie-80gb-hbm2e"],
  },
  // Datacenter boards added for issue 9. Min Power Limits are not in NVIDIA's datasheets; where
  // marked "derived", the 100 W floor nvidia-smi reports on the datacenter boards above is assumed.
  {
    key: "a10",
    name: "NVIDIA A10",
    consumer: false,
    formFactor: "pcie",
    memoryGiB: 24, // NVIDIA A10 datasheet: 24 GB GDDR6
    tdpWatts: 150, // A10 datasheet: max TDP power 150 W
    minWatts: 100, // derived (see above); not verified
    minWattsSource: "derived",
    maxWatts: 150, // = datasheet max power
    idleWatts: 20, // engineering estimate
    fp16Tflops: 125, // A10 datasheet: FP16 tensor 125 TFLOPS dense (250 sparse)
    curve: [[100, 0.867], [105, 0.9], [130, 0.974], [140, 0.99], [150, 1]],
    hostBaseWatts: PCIE_SERVER_BASE_WATTS,
    aliases: ["a10-24gb"],
  },
  {
    key: "a30",
    name: "NVIDIA A30",
    consumer: false,
    formFactor: "pcie",
    memoryGiB: 24, // NVIDIA A30 datasheet: 24 GB HBM2
    tdpWatts: 165, // A30 datasheet: max TDP power 165 W
    minWatts: 100, // derived (see above); not verified
    minWattsSource: "derived",
    maxWatts: 165, // = datasheet max power
    idleWatts: 30, // engineering estimate (HBM2)
    fp16Tflops: 165, // A30 datasheet: FP16 tensor 165 TFLOPS dense (330 sparse)
    curve: [[100, 0.806], [115, 0.897], [140, 0.969], [155, 0.991], [165, 1]],
    hostBaseWatts: PCIE_SERVER_BASE_WATTS,
    aliases: ["a30-24gb"],
  },
  {
    key: "a40",
    name: "NVIDIA A40",
    consumer: false,
    formFactor: "pcie",
    memoryGiB: 48, // NVIDIA A40 datasheet: 48 GB GDDR6 with ECC
    tdpWatts: 300, // A40 datasheet: max power consumption 300 W
    // nvidia-smi -q of a 300 W board with 1740 MHz max graphics clock and 7251 MHz GDDR6 (NVIDIA/
    // nvidia-docker issue #1447; the product name is not in the capture, but these are the A40's
    // boost clock and 14.5 Gbps memory, the RTX A6000 runs 1800 MHz and 16 Gbps): Min Power Limit
    // 100.00 W, Default and Max Power Limit 300.00 W.
    minWatts: 100,
    maxWatts: 300,
    idleWatts: 30, // engineering estimate (passive card)
    fp16Tflops: 149.7, // A40 datasheet: FP16 tensor 149.7 TFLOPS dense (299.4 sparse)
    curve: [[100, 0.45], [150, 0.7], [210, 0.9], [255, 0.97], [280, 0.99], [300, 1]],
    hostBaseWatts: PCIE_SERVER_BASE_WATTS,
    aliases: ["a40-48gb"],
  },
  {
    key: "l4",
    name: "NVIDIA L4",
    consumer: false,
    formFactor: "pcie",
    memoryGiB: 24, // NVIDIA L4 datasheet: 24 GB GDDR6
    tdpWatts: 72, // L4 datasheet: max thermal design power 72 W (slot-powered)
    minWatts: 40, // not published: the Min Power Limit recalled from nvidia-smi on cloud L4 VMs, not re-verified here
    minWattsSource: "derived",
    maxWatts: 72, // = datasheet max power
    idleWatts: 12, // engineering estimate
    fp16Tflops: 121, // L4 datasheet: FP16 tensor 242 TFLOPS with sparsity → 121 dense
    curve: [[40, 0.756], [50, 0.894], [60, 0.962], [65, 0.983], [72, 1]],
    hostBaseWatts: PCIE_SERVER_BASE_WATTS,
    aliases: ["l4-24gb"],
  },
  {
    key: "l40",
    name: "NVIDIA L40",
    consumer: false,
    formFactor: "pcie",
    memoryGiB: 48, // NVIDIA L40 datasheet: 48 GB GDDR6 with ECC
    tdpWatts: 300, // L40 datasheet: max power consumption 300 W
    minWatts: 100, // derived: the 100 W floor of the L40S above (same AD102 board); not verified
    minWattsSource: "derived",
    maxWatts: 300, // = datasheet max power
    idleWatts: 35, // engineering estimate (as the L40S)
    fp16Tflops: 181.05, // L40 datasheet: FP16 tensor 362.1 TFLOPS with sparsity → 181.05 dense
    curve: [[100, 0.45], [150, 0.7], [210, 0.9], [255, 0.97], [280, 0.99], [300, 1]],
    hostBaseWatts: PCIE_SERVER_BASE_WATTS,
    aliases: ["l40-48gb"],
  },
  {
    key: "t4",
    name: "NVIDIA T4",
    consumer: false,
    formFactor: "pcie",
    memoryGiB: 16, // NVIDIA T4 datasheet: 16 GB GDDR6
    tdpWatts: 70, // T4 datasheet: max power 70 W (slot-powered)
    minWatts: 60, // nvidia-smi Min Power Limit on a Tesla T4 (not re-verified here)
    maxWatts: 70, // = datasheet max power
    idleWatts: 10, // engineering estimate
    fp16Tflops: 65, // T4 datasheet: mixed precision (FP16/FP32) 65 TFLOPS (Turing: no sparsity)
    curve: [[60, 0.972], [65, 0.99], [70, 1]],
    hostBaseWatts: PCIE_SERVER_BASE_WATTS,
    aliases: ["tesla-t4", "t4-16gb"],
  },
  {
    key: "v100-pcie",
    name: "NVIDIA V100 PCIe 32GB",
    consumer: false,
    formFactor: "pcie",
    memoryGiB: 32, // NVIDIA V100 datasheet (PCIe column): 32 GB HBM2 (16 GB boards also exist)
    tdpWatts: 250, // V100 datasheet: max power consumption 250 W (PCIe)
    minWatts: 100, // derived (see above); not verified
    minWattsSource: "derived",
    maxWatts: 250, // = datasheet max power
    idleWatts: 30, // engineering estimate (HBM2)
    fp16Tflops: 112, // V100 datasheet (PCIe): tensor performance 112 TFLOPS (Volta: no sparsity)
    curve: [[100, 0.55], [125, 0.7], [175, 0.9], [215, 0.972], [235, 0.991], [250, 1]],
    hostBaseWatts: PCIE_SERVER_BASE_WATTS,
    aliases: ["tesla-v100-pcie-32gb", "v100-pcie-32gb", "tesla-v100-pcie"],
  },
  // --- SXM (HGX baseboard, 8 GPUs per host). hostBaseWatts per the rule in the header.
  {
    key: "v100-sxm",
    name: "NVIDIA V100 SXM2 32GB",
    consumer: false,
    formFactor: "sxm",
    memoryGiB: 32, // NVIDIA V100 datasheet (SXM2 column): 32 GB HBM2
    tdpWatts: 300, // V100 datasheet: max power consumption 300 W (SXM2)
    // nvidia-smi -q of a DGX with Tesla V100-SXM2-32GB boards (NVIDIA/nvidia-docker issue #1076):
    // Min Power Limit 150.00 W, Default and Max Power Limit 300.00 W (1530 MHz max clock, V100's).
    minWatts: 150,
    maxWatts: 300,
    idleWatts: 40, // engineering estimate
    fp16Tflops: 125, // V100 datasheet (SXM2): tensor performance 125 TFLOPS
    curve: [[150, 0.7], [210, 0.9], [255, 0.97], [280, 0.99], [300, 1]],
    // DGX-1 (8 × V100 SXM2) datasheet: 3.5 kW max; (3500 − 8 × 300) × 0.95 = 1045 → 1000 (engineering estimate, not re-verified here).
    hostBaseWatts: 1000,
    aliases: ["tesla-v100-sxm2-32gb", "v100-sxm2", "v100-sxm2-32gb", "tesla-v100-sxm2"],
  },
  {
    key: "a100-sxm",
    name: "NVIDIA A100 SXM4 80GB",
    consumer: false,
    formFactor: "sxm",
    memoryGiB: 80, // NVIDIA A100 datasheet: 80 GB HBM2e (SXM4 80GB)
    tdpWatts: 400, // NVIDIA A100 datasheet: max TDP 400 W (SXM)
    minWatts: 100, // nvidia-smi Min Power Limit on A100-SXM4 (not re-verified here)
    maxWatts: 400, // nvidia-smi Max Power Limit = datasheet TDP
    idleWatts: 55, // engineering estimate
    fp16Tflops: 312, // NVIDIA A100 datasheet: FP16 tensor 312 TFLOPS dense (624 sparse)
    curve: [[100, 0.325], [200, 0.7], [280, 0.9], [340, 0.97], [370, 0.989], [400, 1]],
    // DGX A100 datasheet: 6.5 kW max; (6500 − 8 × 400) × 0.95 ≈ 3135 → 3100 (engineering estimate).
    hostBaseWatts: 3100,
    aliases: ["a100-sxm4-80gb", "a100-sxm4", "a100-sxm-80gb"],
  },
  {
    key: "h100-sxm",
    name: "NVIDIA H100 SXM5 80GB",
    consumer: false,
    formFactor: "sxm",
    memoryGiB: 80, // NVIDIA H100 datasheet (SXM column): 80 GB HBM3
    tdpWatts: 700, // NVIDIA H100 datasheet: max TDP up to 700 W (SXM)
    // DGX H100/H200 and DGX B200 user guides, "Managing Power Capping" Redfish example:
    // PowerLimitWatts AllowableMin 200, AllowableMax 700, DefaultSetPoint 700 (the same
    // limits nvidia-smi reports as Min/Max Power Limit).
    minWatts: 200,
    maxWatts: 700,
    idleWatts: 65, // same Redfish example shows an idle Reading of 64.388 W
    fp16Tflops: 989, // NVIDIA H100 datasheet (SXM): FP16 tensor 1,979 sparse → 989 dense
    curve: [[200, 0.379], [350, 0.7], [490, 0.9], [595, 0.97], [650, 0.99], [700, 1]],
    // DGX H100 datasheet/user guide: 10.2 kW max; (10200 − 8 × 700) × 0.95 = 4370 → 4300 (engineering estimate).
    hostBaseWatts: 4300,
    aliases: ["h100-80gb-hbm3", "h100-sxm5", "h100-sxm5-80gb", "h100-sxm-80gb", "h100"],
  },
  {
    key: "h200-sxm",
    name: "NVIDIA H200 SXM 141GB",
    consumer: false,
    formFactor: "sxm",
    memoryGiB: 141, // NVIDIA H200 datasheet: 141 GB HBM3e
    tdpWatts: 700, // NVIDIA H200 datasheet: max TDP up to 700 W (SXM)
    minWatts: 200, // DGX H100/H200 user guide power-capping example: AllowableMin 200 W (shared HGX H100/H200 firmware)
    maxWatts: 700, // same example: AllowableMax 700 W
    idleWatts: 75, // engineering estimate (H100 SXM idle plus the larger HBM3e stacks)
    fp16Tflops: 989, // NVIDIA H200 datasheet: FP16 tensor 1,979 sparse → 989 dense
    curve: [[200, 0.379], [350, 0.7], [490, 0.9], [595, 0.97], [650, 0.99], [700, 1]],
    // DGX H200 has the DGX H100 chassis and 10.2 kW max input (DGX H100/H200 user guide): same as h100-sxm.
    hostBaseWatts: 4300,
    aliases: ["h200", "h200-sxm5", "h200-141gb", "h200-sxm-141gb"],
  },
  {
    key: "b200",
    name: "NVIDIA B200",
    consumer: false,
    formFactor: "sxm",
    memoryGiB: 180, // DGX B200 datasheet: 1,440 GB total GPU memory / 8 GPUs
    tdpWatts: 1000, // HGX/DGX B200 datasheet: 1,000 W per GPU
    minWatts: 200, // engineering estimate: DGX B200 user guide's Redfish example shows AllowableMin 200 W, but its max (700) is the H100 figure, so not trusted as B200-specific
    minWattsSource: "derived",
    maxWatts: 1000, // = TDP (DGX B200 firmware default; not re-verified here)
    idleWatts: 140, // engineering estimate
    fp16Tflops: 2250, // DGX B200 datasheet: 72 PFLOPS FP8 training per 8 GPUs (sparse) → FP16 dense 2.25 PFLOPS per GPU
    curve: [[200, 0.25], [500, 0.7], [700, 0.9], [850, 0.97], [930, 0.99], [1000, 1]],
    // DGX B200 datasheet: ~14.3 kW max (not re-verified here); (14300 − 8 × 1000) × 0.95 = 5985 → 5900 (engineering estimate).
    hostBaseWatts: 5900,
    aliases: ["b200-sxm", "b200-180gb", "hgx-b200", "dgx-b200"],
  },
  // --- NVIDIA CMP mining processors (headless, sold for Ethereum mining in 2021). NVIDIA's
  // CMP HX announcement table (Fudzilla, "Nvidia unveils cryptocurrency mining processors"):
  // 30HX 6 GB 125 W, 40HX 8 GB 185 W, 50HX 10 GB 250 W, 90HX 10 GB 320 W; the 170HX followed
  // (GA100, 8 GB HBM2e, 250 W: pcguia.pt / pcworld.pl, September 2021). Mining software
  // measured the 50HX at 250 W and the 90HX at 320 W (kryptex/krig-miner v1.5.7 notes).
  // Crippled on purpose: NVIDIA limits the PCIe link to four Gen 1 lanes (heise on the 50HX:
  // "auf vier 1.0-Lanes"; pcworld.pl on the 170HX: generation 1, 4 lanes, in an x16 slot), about
  // 1 GB/s, what a Gen 3 x1 riser gives, so the planner treats them like x1-riser GPUs
  // (single-GPU inference pools, pcieLinkLimit). Not sourced: Gen 1 x4 on the 30HX and 90HX is
  // assumed (no source found; heise and pcworld cover only the 50HX and 170HX), and pcguia.pt
  // calls the 170HX's link "PCIe 4.0 x1", which conflicts with pcworld.pl. Every reading is a
  // riser-class link (Gen 1 x4 ≈ Gen 3 x1 ≈ 1 GB/s; Gen 4 x1 ≈ 2 GB/s), so planning is the same.
  // Throughput: fp16Tflops is dense tensor FP16 with FP32 accumulate, and on the 170HX NVIDIA
  // gates the tensor cores to 1/32 of their peak, measured at 6.3 TFLOPS (Xing, "Microbenchmarking
  // Instruction-Level Tensor Core Throttling in NVIDIA CMP 170HX", zenodo.org/records/18995979).
  // The 42 TFLOPS niconiconi measured ("Nvidia CMP 170HX Review") is non-tensor FP16; FP32 FMA is
  // throttled to 0.39 TFLOPS, non-FMA FP32 runs at 6.25. For the Turing and GA102 CMPs no measured
  // figure was found: their fp16Tflops is the configuration's upper bound (derived as for GeForce
  // above) × 1/32, the throttle measured on the 170HX, assumed the same — a conservative figure,
  // because the planner hands out watts by throughput and an overstated CMP would take watts from
  // real GPUs on a shared feed. (Two torch matmul reports show a 170HX at ~163 TFLOPS FP16:
  // zzc0721/torch-performance-test-data issues #187 and #188, unexplained, likely modified drivers;
  // not used.) Min Power Limits are not published: 100 W assumed (the GA10x floor above), not
  // verified; max = the table's power.
  // Not GeForce, but as far outside NVIDIA's datacenter support matrix: consumer: true.
  {
    key: "cmp-30hx",
    name: "NVIDIA CMP 30HX",
    consumer: true,
    formFactor: "pcie",
    memoryGiB: 6, // CMP HX table: 6 GB GDDR6
    tdpWatts: 125, // CMP HX table: 125 W
    minWatts: 100, // derived (see above)
    minWattsSource: "derived",
    maxWatts: 125,
    idleWatts: 10, // engineering estimate
    fp16Tflops: 0.31, // assumed: 10 TFLOPS upper bound (TU116, no tensor cores, FP16 at 2 × FP32: 1408 cores × 2 FLOPs × 2 × 1.785 GHz) × 1/32 (the 170HX's measured throttle, see above)
    curve: [[100, 0.947], [105, 0.965], [115, 0.988], [125, 1]],
    hostBaseWatts: MINING_RIG_BASE_WATTS,
    aliases: ["cmp30hx", "30hx", "cmp-30hx-6gb"],
    pcieLinkLimit: { generation: 1, lanes: 4 },
  },
  {
    key: "cmp-50hx",
    name: "NVIDIA CMP 50HX",
    consumer: true,
    formFactor: "pcie",
    memoryGiB: 10, // heise (MSI CMP 50HX): 10 GB GDDR6
    tdpWatts: 250, // CMP HX table: 250 W (heise quotes MSI's 225 W; krig-miner measured 250 W)
    minWatts: 100, // derived (see above)
    minWattsSource: "derived",
    maxWatts: 250,
    idleWatts: 15, // engineering estimate
    fp16Tflops: 1.38, // assumed: 44.3 upper bound (TU102 with 56 SMs (heise) = 448 tensor cores × 1.545 GHz boost × 64, the Turing GeForce rate with FP32 accumulate) × 1/32 (see above)
    curve: [[100, 0.55], [125, 0.7], [175, 0.9], [215, 0.972], [235, 0.991], [250, 1]],
    hostBaseWatts: MINING_RIG_BASE_WATTS,
    aliases: ["cmp50hx", "50hx", "cmp-50hx-10gb"],
    pcieLinkLimit: { generation: 1, lanes: 4 },
  },
  {
    key: "cmp-90hx",
    name: "NVIDIA CMP 90HX",
    consumer: true,
    formFactor: "pcie",
    memoryGiB: 10, // CMP HX table: 10 GB
    tdpWatts: 320, // CMP HX table: 320 W (krig-miner measured 320 W)
    minWatts: 100, // derived (see above)
    minWattsSource: "derived",
    maxWatts: 320,
    idleWatts: 15, // engineering estimate
    fp16Tflops: 1.37, // assumed: 43.8 upper bound (GA102 with 50 SMs = 200 tensor cores × 1.71 GHz × 128, the GA10x GeForce rate) × 1/32 (see above); not measured
    curve: [[100, 0.419], [160, 0.7], [225, 0.901], [270, 0.967], [300, 0.991], [320, 1]],
    hostBaseWatts: MINING_RIG_BASE_WATTS,
    aliases: ["cmp90hx", "90hx", "cmp-90hx-10gb"],
    pcieLinkLimit: { generation: 1, lanes: 4 },
  },
  {
    key: "cmp-170hx",
    name: "NVIDIA CMP 170HX",
    consumer: true,
    formFactor: "pcie",
    memoryGiB: 8, // pcworld.pl / niconiconi: 8 GB HBM2e
    tdpWatts: 250, // pcguia.pt: maximum TDP 250 W (one 8-pin connector, passive cooler)
    minWatts: 100, // derived (see above)
    minWattsSource: "derived",
    maxWatts: 250,
    idleWatts: 25, // engineering estimate (HBM2e)
    fp16Tflops: 6.3, // measured tensor-core FP16, 1/32 of peak (zenodo.org/records/18995979); 42 TFLOPS (niconiconi) is non-tensor FP16
    curve: [[100, 0.55], [125, 0.7], [175, 0.9], [215, 0.972], [235, 0.991], [250, 1]],
    hostBaseWatts: MINING_RIG_BASE_WATTS,
    aliases: ["cmp170hx", "170hx", "cmp-170hx-8gb"],
    pcieLinkLimit: { generation: 1, lanes: 4 },
  },
];

/**
 * The ASIC miners a site file may name. Stock hash rate and wall power from the
 * manufacturer's spec sheet (Bitmain / MicroBT); both carry ~±5–10% tolerance and move with
 * firmware and ambient temperature. Where only efficiency is published, watts = TH/s × J/TH.
 */
export const ASICS: readonly AsicSpec[] = [
  // Bitmain Antminer S19 (95 TH) spec sheet: 95 TH/s, 34.2 J/TH, 3250 W.
  { key: "s19", name: "Antminer S19", watts: 3250, hashrateThs: 95, aliases: ["s19-95t", "s19-95th"] },
  // Bitmain Antminer S19j Pro (104 TH) spec sheet: 104 TH/s, 29.5 J/TH, 3068 W
  // (ydminer "Influence of temperature on power consumption ratio of Antminer X19 series" uses the same 104 TH/s factory setting).
  { key: "s19j-pro", name: "Antminer S19j Pro", watts: 3068, hashrateThs: 104, aliases: ["s19jpro", "s19j-pro-104t", "s19-j-pro"] },
  // Bitmain Antminer S19 XP spec sheet: 140 TH/s, 3010 W (miningstore.com, "Is the Antminer S19 XP worth it?").
  { key: "s19-xp", name: "Antminer S19 XP", watts: 3010, hashrateThs: 140, aliases: ["s19xp", "s19-xp-140t"] },
  // Bitmain Antminer S21 spec sheet: 200 TH/s at 17.5 J/TH = 3500 W (HackerNoon S21 review quotes 200T, 17.5 J/T).
  { key: "s21", name: "Antminer S21", watts: 3500, hashrateThs: 200, aliases: ["s21-200t", "s21-200th"] },
  // Bitmain Antminer S21 Hydro spec sheet: 335 TH/s at 16.0 J/TH = 5360 W (btcminerguide "ROI for S21 Hyd").
  { key: "s21-hydro", name: "Antminer S21 Hydro", watts: 5360, hashrateThs: 335, aliases: ["s21-hyd", "s21hyd", "s21hydro"] },
  // MicroBT WhatsMiner M50S spec sheet: 126 TH/s at 26 J/TH = 3276 W (CoinDesk 2023 lists M50S among ≤25–26 J/TH rigs).
  { key: "m50s", name: "WhatsMiner M50S", watts: 3276, hashrateThs: 126, aliases: ["m50s-126t"] },
  // MicroBT WhatsMiner M60S spec sheet: 186 TH/s at 18.5 J/TH ≈ 3441 W (not re-verified here).
  { key: "m60s", name: "WhatsMiner M60S", watts: 3441, hashrateThs: 186, aliases: ["m60s-186t"] },
  // Added for issue 9.
  // Bitmain Antminer S19k Pro spec sheet: 120 TH/s at 23 J/TH = 2760 W (not re-verified here).
  { key: "s19k-pro", name: "Antminer S19k Pro", watts: 2760, hashrateThs: 120, aliases: ["s19kpro", "s19k-pro-120t", "s19-k-pro"] },
  // Bitmain Antminer S21 Pro spec sheet: 234 TH/s at 15.0 J/TH = 3510 W (a retailer page quotes 234 TH/s, 3531 W:
  // antminer-s21-pro-profitability.pages.dev; D-Central's power table flags its S21 Pro row as Bitmain's spec).
  { key: "s21-pro", name: "Antminer S21 Pro", watts: 3510, hashrateThs: 234, aliases: ["s21pro", "s21-pro-234t"] },
  // Bitmain Antminer S21 XP spec sheet: 270 TH/s at 13.5 J/TH = 3645 W (btcminermarketplace.com,
  // "How to calculate ROI for Bitcoin Miner S21 XP": 270 TH/s ±3 %, 13.5 J/TH ±5 % on the wall at 25 °C).
  { key: "s21-xp", name: "Antminer S21 XP", watts: 3645, hashrateThs: 270, aliases: ["s21xp", "s21-xp-270t"] },
  // MicroBT WhatsMiner M30S++ spec sheet: 112 TH/s at 31 J/TH = 3472 W (not re-verified here).
  { key: "m30s-plus-plus", name: "WhatsMiner M30S++", watts: 3472, hashrateThs: 112, aliases: ["m30s++", "m30spp", "m30s-pp", "m30s++-112t"] },
  // MicroBT WhatsMiner M63S (hydro-cooled) spec sheet: 390 TH/s at 18.5 J/TH = 7215 W (not re-verified here).
  { key: "m63s", name: "WhatsMiner M63S", watts: 7215, hashrateThs: 390, aliases: ["m63s-390t", "m63s-hydro"] },
  // Canaan Avalon A1466 spec sheet: 150 TH/s, 3230 W ±10 % (D-Central, "Avalon 1466 – Low Hashrate vs Nameplate").
  { key: "avalon-a1466", name: "Avalon A1466", watts: 3230, hashrateThs: 150, aliases: ["a1466", "avalon-1466", "a1466-150t"] },
];


/** Lowercases and drops spaces, underscores and vendor words, so `NVIDIA GeForce RTX 3090` finds `rtx-3090`. */
export function normalizeModelName(name: string): string {
  return name
    .toLowerCase()
    // Underscores first: `\b` treats `_` as a word character, so `antminer_s19` would keep its vendor word.
    .replace(/_/g, " ")
    .replace(/\b(nvidia|geforce|antminer|whatsminer|bitmain|microbt|canaan)\b/g, "")
    .replace(/[\s_]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-|-$/g, "");
}

/** Finds a GPU by key, name or alias; undefined when unknown. */
export function findGpu(name: string): GpuSpec | undefined {
  return lookup(GPUS, name);
}

/** Finds an ASIC miner by key, name or alias; undefined when unknown. */
export function findAsic(name: string): AsicSpec | undefined {
  return lookup(ASICS, name);
}

function lookup<T extends { key: string; name: string; aliases: readonly string[] }>(list: readonly T[], name: string): T | undefined {
  const n = normalizeModelName(name);
  return list.find((s) => s.key === n || normalizeModelName(s.name) === n || s.aliases.includes(n));
}

/**
 * The candidate closest to `name` (for "did you mean" hints). Uses edit distance with
 * adjacent transpositions counted as one edit, because swapped digits (`rtx-3900`) are the
 * commonest model-name typo and plain Levenshtein scores them as two, tying with unrelated
 * models. Ties go to the alphabetically first candidate, so hints are deterministic.
 */
export function nearestName(name: string, candidates: readonly string[]): string | undefined {
  const n = normalizeModelName(name);
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = typoDistance(n, c);
    if (d < bestDistance || (d === bestDistance && best !== undefined && c < best)) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/** Optimal-string-alignment distance: Levenshtein plus adjacent transpositions as one edit. */
function typoDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row: number[] = [i];
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row[j] = j;
        continue;
      }
      const up = rows[i - 1]!;
      let d = Math.min(up[j]! + 1, row[j - 1]! + 1, up[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      row[j] = d;
    }
    rows.push(row);
  }
  return rows[a.length]![b.length]!;
}

/** Levenshtein distance. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** Relative throughput of `gpu` at `capWatts` (clamped to the settable range), linear between curve points. */
export function relativeThroughput(gpu: GpuSpec, capWatts: number): number {
  const pts = gpu.curve;
  const first = pts[0]!;
  const last = pts[pts.length - 1]!;
  if (capWatts <= first[0]) return first[1];
  if (capWatts >= last[0]) return last[1];
  for (let i = 1; i < pts.length; i++) {
    const [x1, y1] = pts[i]!;
    if (capWatts <= x1) {
      const [x0, y0] = pts[i - 1]!;
      return y0 + ((y1 - y0) * (capWatts - x0)) / (x1 - x0);
    }
  }
  return last[1];
}

// ---- the throughput model as a function, for curves a site does not give ----------------

/** The shared model's points: `[cap / TDP, relative throughput]` (see the comment above the GPU list). */
const MODEL_POINTS: ReadonlyArray<readonly [number, number]> = [
  [0.3, 0.4],
  [0.5, 0.7],
  [0.7, 0.9],
  [0.85, 0.97],
  [0.93, 0.99],
  [1, 1],
];
/** Slope of the model below its first point, in relative throughput per unit of cap / TDP. */
const MODEL_SLOPE_BELOW = 1.5;
/** Slope of the model above TDP: +3 % for +30 % power. */
const MODEL_SLOPE_ABOVE = 0.1;
/** Fractions of TDP sampled between minWatts and TDP, rounded to 5 W. */
const MODEL_SAMPLES = [0.5, 0.7, 0.85, 0.93] as const;
/** Below this fraction of TDP the model's straight low end reaches zero: a site must give its own curve. */
export const MODEL_MIN_FRACTION = 0.1;

/** The model's relative throughput at `p` = cap / TDP. */
function modelRelative(p: number): number {
  const first = MODEL_POINTS[0]!;
  if (p <= first[0]) return first[1] - MODEL_SLOPE_BELOW * (first[0] - p);
  if (p >= 1) return 1 + MODEL_SLOPE_ABOVE * (p - 1);
  for (let i = 1; i < MODEL_POINTS.length; i++) {
    const [x1, y1] = MODEL_POINTS[i]!;
    if (p <= x1) {
      const [x0, y0] = MODEL_POINTS[i - 1]!;
      return y0 + ((y1 - y0) * (p - x0)) / (x1 - x0);
    }
  }
  return 1;
}

/**
 * The shared model's curve for a board (see the comment above the GPU list): points at
 * `minWatts`, 0.5/0.7/0.85/0.93 × TDP rounded to 5 W where strictly inside (minWatts, TDP),
 * TDP, and `maxWatts` when above TDP. `decimals` rounds the relative figures (the built-in
 * curves are written with 3); unrounded, the curve is exactly concave.
 */
export function modelCurve(tdpWatts: number, minWatts: number, maxWatts: number, decimals?: number): Array<[number, number]> {
  const caps = new Set<number>([minWatts]);
  for (const f of MODEL_SAMPLES) {
    const cap = Math.round((f * tdpWatts) / 5) * 5;
    if (cap > minWatts && cap < tdpWatts) caps.add(cap);
  }
  if (tdpWatts > minWatts) caps.add(tdpWatts);
  if (maxWatts > tdpWatts) caps.add(maxWatts);
  const round = (x: number): number => (decimals === undefined ? x : Number(x.toFixed(decimals)));
  return [...caps].sort((a, b) => a - b).map((cap) => [cap, round(modelRelative(cap / tdpWatts))]);
}

/**
 * `gpu` with a different highest settable limit (a machine's `gpuMaxWatts`): the curve is cut
 * at `maxWatts` (interpolated), or continued past its last point with the smaller of its last
 * slope and the model's slope above TDP, so it stays concave.
 */
export function withMaxWatts(gpu: GpuSpec, maxWatts: number): GpuSpec {
  if (maxWatts === gpu.maxWatts) return gpu;
  const pts = gpu.curve;
  const last = pts[pts.length - 1]!;
  let curve: Array<readonly [number, number]>;
  if (maxWatts <= last[0]) {
    curve = pts.filter(([cap]) => cap < maxWatts);
    curve.push([maxWatts, relativeThroughput(gpu, maxWatts)]);
  } else {
    const prev = pts[pts.length - 2];
    const aboveTdp = MODEL_SLOPE_ABOVE / gpu.tdpWatts;
    const slope = prev === undefined ? aboveTdp : Math.min(aboveTdp, (last[1] - prev[1]) / (last[0] - prev[0]));
    curve = [...pts, [maxWatts, last[1] + slope * (maxWatts - last[0])]];
  }
  return { ...gpu, maxWatts, curve };
}

/**
 * Usable bandwidth of one PCIe lane per generation, in GB/s (after line coding: 8b/10b for
 * Gen 1–2, 128b/130b for Gen 3–5; PCI-SIG's published per-lane rates).
 */
const PCIE_LANE_GBPS: Readonly<Record<number, number>> = { 1: 0.25, 2: 0.5, 3: 0.985, 4: 1.969, 5: 3.938, 6: 7.563 };

/** One direction's bandwidth of a PCIe link, in GB/s. */
export function pcieLinkGBps(link: { generation: number; lanes: number }): number {
  return (PCIE_LANE_GBPS[link.generation] ?? 0) * link.lanes;
}

/**
 * A board link at or below this bandwidth is planned like an x1 riser (inference only): Gen 3
 * x2. It takes in a Gen 1 x4 CMP card (1 GB/s) and a Gen 3 x1 riser (0.985 GB/s), and leaves
 * out a Gen 3 x4 slot (3.9 GB/s).
 */
export const RISER_CLASS_MAX_GBPS = 2 * PCIE_LANE_GBPS[3]!;

/** True when `gpu`'s own PCIe link is as narrow as an x1 riser (NVIDIA CMP cards). */
export function hasRiserClassLink(gpu: Pick<GpuSpec, "pcieLinkLimit">): boolean {
  return gpu.pcieLinkLimit !== undefined && pcieLinkGBps(gpu.pcieLinkLimit) <= RISER_CLASS_MAX_GBPS;
}

// ---- catalogs: built-in, and a site's own entries over it ------------------------------

/** The models a site can name: its own catalog entries first, then the built-in ones they do not replace. */
export interface HardwareCatalog {
  /** Every GPU model, site entries first (in file order), then built-in ones. */
  readonly gpus: readonly GpuSpec[];
  /** Every ASIC model, in the same order. */
  readonly asics: readonly AsicSpec[];
  /** Finds a GPU by key, name or alias (site entries win); undefined when unknown. */
  findGpu(name: string): GpuSpec | undefined;
  /** Finds an ASIC by key, name or alias (site entries win); undefined when unknown. */
  findAsic(name: string): AsicSpec | undefined;
}

/** Every spelling a model is found by: key, normalized name, aliases. */
export function spellingsOf(spec: { key: string; name: string; aliases: readonly string[] }): string[] {
  return [...new Set([spec.key, normalizeModelName(spec.name), ...spec.aliases])];
}

function catalogOf(gpus: readonly GpuSpec[], asics: readonly AsicSpec[]): HardwareCatalog {
  const index = <T extends { key: string; name: string; aliases: readonly string[] }>(list: readonly T[]): Map<string, T> => {
    const map = new Map<string, T>();
    for (const spec of list) for (const s of spellingsOf(spec)) if (!map.has(s)) map.set(s, spec);
    return map;
  };
  const gpuIndex = index(gpus);
  const asicIndex = index(asics);
  return {
    gpus,
    asics,
    findGpu: (name) => gpuIndex.get(normalizeModelName(name)),
    findAsic: (name) => asicIndex.get(normalizeModelName(name)),
  };
}

/** The built-in catalog as a {@link HardwareCatalog}. */
export const BUILTIN_CATALOG: HardwareCatalog = catalogOf(GPUS, ASICS);

/** A GPU entry of a site's `catalog.gpus` as parsed (defaults of the schema applied). */
export interface SiteGpuEntry {
  key: string;
  name: string;
  consumer: boolean;
  formFactor: "pcie" | "sxm";
  memoryGiB: number;
  tdpWatts: number;
  minWatts: number;
  maxWatts: number;
  boardMaxWatts?: number | undefined;
  idleWatts?: number | undefined;
  fp16Tflops: number;
  curve?: Array<[number, number]> | undefined;
  hostBaseWatts?: number | undefined;
  aliases: string[];
  pcieLinkLimit?: { generation: number; lanes: number } | undefined;
}

/** An ASIC entry of a site's `catalog.asics` as parsed. */
export interface SiteAsicEntry {
  key: string;
  name: string;
  watts: number;
  hashrateThs: number;
  aliases: string[];
}

/** A site's `catalog` block as parsed. */
export interface SiteCatalogEntries {
  gpus: SiteGpuEntry[];
  asics: SiteAsicEntry[];
}

/** Idle draw of a site GPU entry that gives none: 10 % of TDP, below minWatts (an estimate on the high side, so curtailment counts less as shed). */
export function defaultIdleWatts(tdpWatts: number, minWatts: number): number {
  return Math.max(1, Math.min(minWatts - 1, Math.round(0.1 * tdpWatts)));
}

/** A site GPU entry as a {@link GpuSpec}: defaults filled (model curve, idle, host base by class), aliases normalized. */
export function gpuSpecOf(e: SiteGpuEntry): GpuSpec {
  return {
    key: e.key,
    name: e.name,
    consumer: e.consumer,
    formFactor: e.formFactor,
    memoryGiB: e.memoryGiB,
    tdpWatts: e.tdpWatts,
    minWatts: e.minWatts,
    maxWatts: e.maxWatts,
    ...(e.boardMaxWatts !== undefined ? { boardMaxWatts: e.boardMaxWatts } : {}),
    idleWatts: e.idleWatts ?? defaultIdleWatts(e.tdpWatts, e.minWatts),
    fp16Tflops: e.fp16Tflops,
    curve: e.curve ?? modelCurve(e.tdpWatts, e.minWatts, e.maxWatts),
    // SXM systems have no default (validation asks for one); 0 only keeps the type total.
    hostBaseWatts: e.hostBaseWatts ?? (e.consumer ? MINING_RIG_BASE_WATTS : e.formFactor === "sxm" ? 0 : PCIE_SERVER_BASE_WATTS),
    aliases: [...new Set(e.aliases.map(normalizeModelName))],
    ...(e.pcieLinkLimit !== undefined ? { pcieLinkLimit: e.pcieLinkLimit } : {}),
  };
}

/** A site ASIC entry as an {@link AsicSpec}. */
export function asicSpecOf(e: SiteAsicEntry): AsicSpec {
  return { key: e.key, name: e.name, watts: e.watts, hashrateThs: e.hashrateThs, aliases: [...new Set(e.aliases.map(normalizeModelName))] };
}

const siteCatalogs = new WeakMap<object, HardwareCatalog>();

/**
 * The catalog of a site: its `catalog.gpus[]` and `catalog.asics[]` entries, then the
 * built-in models whose key no entry takes (an entry with a built-in key replaces that
 * model). Validation (`validate.ts`) reports entries that are unsound or whose spellings
 * clash; the catalog is built even then, so machines naming them are not also reported as
 * unknown. Built once per parsed site.
 */
export function siteCatalog(site: { catalog?: SiteCatalogEntries | undefined }): HardwareCatalog {
  const entries = site.catalog;
  if (entries === undefined || (entries.gpus.length === 0 && entries.asics.length === 0)) return BUILTIN_CATALOG;
  const cached = siteCatalogs.get(entries);
  if (cached) return cached;
  const gpus = entries.gpus.map(gpuSpecOf);
  const asics = entries.asics.map(asicSpecOf);
  const gpuKeys = new Set(gpus.map((g) => g.key));
  const asicKeys = new Set(asics.map((a) => a.key));
  const catalog = catalogOf([...gpus, ...GPUS.filter((g) => !gpuKeys.has(g.key))], [...asics, ...ASICS.filter((a) => !asicKeys.has(a.key))]);
  siteCatalogs.set(entries, catalog);
  return catalog;
}

/**
 * True when `name` is an AMD GPU (Radeon RX cards of Ethereum farms, Instinct MI
 * accelerators): the NVIDIA GPU operator, its device plugin and `nvidia-smi` power limits
 * do not drive them, so no catalog entry can make them GPU nodes.
 */
export function isAmdGpuName(name: string): boolean {
  const n = normalizeModelName(name);
  return (
    /(^|-)(amd|radeon|ati|instinct)(-|$)/.test(n) ||
    /^rx-?(\d{3,4}|vega)/.test(n) ||
    /^mi-?\d{2,3}[a-z]?$/.test(n) ||
    /^(vega|r9-|r7-|firepro|radeon)/.test(n)
  );
}

// Stops mine2hpc on a Node.js older than package.json's engines.node, with the fix, before
// anything else loads: on Node 20 the dependencies die later with errors such as
// "TEXT_ENCODINGS.union is not a function" (Set.prototype.union is Node 22+), and npm ci only
// warns about engines. Plain ES5 and CommonJS on purpose, so that any Node can run it.
// Run first by bin/mine2hpc.js and by npm's pretest, prestart and prebench hooks.
"use strict";
var fs = require("fs");
var path = require("path");

/** The major version package.json's engines.node (">=24") asks for. */
function requiredMajor() {
  var pkg = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "package.json"), "utf8"));
  var m = /(\d+)/.exec((pkg.engines && pkg.engines.node) || "");
  return m ? parseInt(m[1], 10) : 0;
}

/** Exits 1 with the fix when this Node is too old; returns otherwise. */
function checkNode() {
  var need = requiredMajor();
  var have = parseInt(process.versions.node.split(".")[0], 10);
  if (have >= need) return;
  process.stderr.write(
    [
      "error: mine2hpc needs Node.js " + need + " or newer; this is Node " + process.version + " (" + process.execPath + ").",
      "  fix: install Node " + need + " and run the command again, e.g. with nvm (the repository's .nvmrc names it):",
      "         nvm install " + need + " && nvm use " + need,
      "       or, with only npm at hand, Node " + need + " from the npm registry (as .ci/run does):",
      "         npm install --prefix ~/.node" + need + " node@" + need + " && export PATH=~/.node" + need + "/node_modules/.bin:$PATH",
      "",
    ].join("\n"),
  );
  process.exit(1);
}

module.exports = checkNode;
if (require.main === module) checkNode();

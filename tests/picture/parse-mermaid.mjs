// Parse each Mermaid file named on the command line with the official parser (mermaid.parse, which
// needs a DOM: jsdom's). Prints "ok FILE" or "error FILE: MESSAGE" per file; exit 1 if any failed.
import { readFileSync } from 'node:fs';
import { JSDOM } from 'jsdom';

const dom = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false });

let failed = false;
for (const file of process.argv.slice(2)) {
  try {
    const result = await mermaid.parse(readFileSync(file, 'utf8'));
    console.log(`ok ${file} ${result.diagramType}`);
  } catch (e) {
    failed = true;
    console.log(`error ${file}: ${String(e.message).replaceAll('\n', ' ')}`);
  }
}
process.exit(failed ? 1 : 0);

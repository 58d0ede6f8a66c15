// Plain JavaScript that any Node can parse: it runs before the TypeScript sources, which need Node 24.

/** The oldest Node.js major that runs Portico (type stripping of .ts sources without a flag). */
export const MIN_NODE_MAJOR = 24;

/** The one line to print when `version` (e.g. "20.11.1") is too old, or undefined when it is recent enough. */
export function nodeVersionProblem(version) {
  const major = Number(String(version).split('.')[0]);
  if (major >= MIN_NODE_MAJOR) return undefined;
  return (
    `portico needs Node.js ${MIN_NODE_MAJOR} or newer (this is v${version}); run it through npm ` +
    '(npm start / npx portico), which uses the Node 24 that npm ci installed in node_modules/.bin'
  );
}

export { type DiagnosticsTargets, subscribeDiagnostics } from './subscribe-diagnostics.ts';

/**
 * The direction of src/'s imports (issue 20; STYLE.md principle 14), checked by `npm run lint`:
 *
 *   shared ← settings ← stage interfaces ← stages ← agent ← cli
 *
 * An arrow may point down this list, never up; nothing may import in a circle. test/, bench/ and
 * chaos/ may import anything (they are cruised only so that src/ cannot import them).
 *
 * - shared: small things every room uses (src/shared/: a reading, backoff, time-zone arithmetic), the errors, byte and
 *   decimal helpers, redaction and the logger (src/ops/log.ts: a leaf every stage logs through).
 * - settings: src/settings/ composes and loads the config. The stages own their option schemas
 *   (`options.ts`, `*-schema.ts` beside the stage), which settings/ may import; those schema files
 *   import only shared, settings/'s building blocks, each other and their own stage's pure checks
 *   (schedule/options.ts validates cron expressions with cron-slots.ts), never another stage
 *   (`defaults.ts`: detect's zod-free defaults, which its schema builds on).
 * - stage interfaces: the contracts between rooms (source.ts, store.ts, records.ts,
 *   state-store.ts, sink.ts; alerts/alarm-event.ts, the alarm payload every sink publishes).
 * - stages: every other room of src/ (sources, store, detect, alerts, aggregate, schedule, sinks, writes,
 *   ingest, ops).
 * - agent: src/agent.ts, the composition root.
 * - cli: src/cli/, src/main.ts (the only file that touches process) and src/index.ts (the package's API).
 */
const SHARED = '^src/(shared/|errors[.]ts$|bytes[.]ts$|redact[.]ts$|decimal-scale[.]ts$|ops/log[.]ts$)';
const SETTINGS = '^src/settings/';
const OPTION_SCHEMAS =
  '^src/(aggregate|alerts|broker|control-room|detect|ingest|ops|schedule|sinks|sinks/mqtt|sinks/sparkplug|sources|store|writes)/(options|defaults|[a-z]+-schema)[.]ts$';
const INTERFACES =
  '^src/(sources/source|store/store|store/records|store/state-store|sinks/sink|alerts/alarm-event)[.]ts$';
const AGENT = '^src/agent[.]ts$';
const CLI = '^src/(cli/|main[.]ts$|index[.]ts$)';

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle makes load order matter and hides which module is the contract: move the shared part down.',
      from: { path: '^(src|test|bench|chaos)/' },
      to: { circular: true },
    },
    {
      name: 'shared-is-the-bottom',
      severity: 'error',
      comment: 'shared/ (and the other leaves listed in SHARED) import nothing else of src/.',
      from: { path: SHARED },
      to: { path: '^src/', pathNot: SHARED },
    },
    {
      name: 'settings-only-composes',
      severity: 'error',
      comment: 'settings/ composes the option schemas the stages own; it never imports a stage itself.',
      from: { path: SETTINGS },
      to: { path: '^src/', pathNot: [SHARED, SETTINGS, OPTION_SCHEMAS] },
    },
    {
      name: 'option-schemas-stay-declarative',
      severity: 'error',
      comment:
        'A stage\'s option schema is read by settings/: it may import shared, settings/, contracts, other schemas and its own stage\'s pure checks (a cron parser, a zone check), never another stage.',
      from: { path: OPTION_SCHEMAS },
      to: { path: '^src/', pathNot: [SHARED, SETTINGS, OPTION_SCHEMAS, INTERFACES, '^src/$1/'] },
    },
    {
      name: 'interfaces-are-contracts',
      severity: 'error',
      comment: 'The contracts between rooms import only shared types, settings and other contracts, never an implementation.',
      from: { path: INTERFACES },
      to: { path: '^src/', pathNot: [SHARED, SETTINGS, OPTION_SCHEMAS, INTERFACES] },
    },
    {
      name: 'stages-do-not-import-the-root',
      severity: 'error',
      comment: 'Only src/agent.ts wires the stages together, and only the cli starts the agent.',
      from: { path: '^src/', pathNot: [AGENT, CLI] },
      to: { path: [AGENT, CLI] },
    },
    {
      name: 'agent-does-not-import-the-cli',
      severity: 'error',
      from: { path: AGENT },
      to: { path: CLI },
    },
    {
      name: 'src-does-not-import-tests',
      severity: 'error',
      comment: 'test/, bench/ and chaos/ may import src/, never the other way round (they are not shipped).',
      from: { path: '^src/' },
      to: { path: '^(test|bench|chaos)/' },
    },
    {
      name: 'src-does-not-import-dev-dependencies',
      severity: 'error',
      comment: 'Only dependencies are installed with the package: src/ may not need a devDependency at run time.',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^(src|test|bench|chaos)/',
    // Type-only imports are arrows too: a type in the wrong room pulls the room in.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};

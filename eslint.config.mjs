// npm run lint: ESLint with typescript-eslint's type-checked rules over every TypeScript file the
// build type-checks (tsconfig.json: core, client, transports, message, bin, testing, nodemailer,
// test, bench), and the plain recommended rules over the .mjs scripts and test/runtimes (the
// Deno, Bun, workerd and QuickJS entry files are outside tsconfig.json: no type information).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test/fixtures/**', '**/*.d.ts'] },
  js.configs.recommended,
  {
    rules: {
      // Matching control characters is the point: CR, LF and NUL are refused and C0/C1 escaped.
      'no-control-regex': 'off',
      // The IDN and SASLprep tables list combining marks and joiners as code points of their own.
      'no-misleading-character-class': 'off',
      // It flags the last `o++` of a run of writes and defensive initial values: dead stores, not bugs.
      'no-useless-assignment': 'off',
      // An empty catch is how a best-effort step (parse a line, close a handle) says "ignore".
      'no-empty': ['error', { allowEmptyCatch: true }],
    },
  },
  {
    files: ['**/*.ts'],
    extends: [...tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      // `Array.isArray(x as unknown)` checks a value without narrowing x to any[]: keep that one.
      '@typescript-eslint/no-unnecessary-type-assertion': ['error', { typesToIgnore: ['unknown'] }],
      // A `default:` is a deliberate catch-all; a switch without one must name every member.
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      // Whatever was thrown is printed: String() is the fallback after `instanceof Error` on purpose.
      '@typescript-eslint/no-base-to-string': 'off',
      // `async` states the contract (a throw becomes a rejection) even where nothing is awaited.
      '@typescript-eslint/require-await': 'off',
      // Unions such as `'drop' | string` or `SmtpError | unknown` name the values a reader should expect.
      '@typescript-eslint/no-redundant-type-constituents': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      // Socket errors and abort reasons are passed on as they came (typed unknown by the platform).
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
    },
  },
  {
    // Tests feed deliberately ill-typed input and assert on JSON from child processes, parsers and
    // exporters typed `any`: the assertions are the check there.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
    },
  },
  {
    // Property tests take fast-check from test/fc.ts, which applies the seed CI fixes.
    files: ['test/**/*.ts'],
    ignores: ['test/fc.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [{ name: 'fast-check', message: 'import fc from test/fc.ts (it applies SMTPWIRE_PROPERTY_SEED)' }] },
      ],
    },
  },
  {
    files: ['test/runtimes/**/*.ts'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: { ...globals.node } },
    rules: { 'no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }] },
  },
);

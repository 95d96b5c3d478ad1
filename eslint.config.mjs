// One lint configuration for every package: typescript-eslint's type-aware recommended rules.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['**/dist/**', '**/node_modules/**', '**/coverage/**', '**/*.js', '**/*.mjs', '**/*.cjs', '!packages/*/examples/**/*.js'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
      // Contract methods are async by signature (relay backends settle asynchronously).
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: ['**/test/**/*.ts', '**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
      // expect.objectContaining() and friends are typed `any` by @types/jest.
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
    },
  },
  {
    // The JavaScript examples, as a user on plain Node.js writes them (CommonJS, no types; their calls
    // are type-checked against the declarations by each package's tsconfig.examples.json).
    files: ['packages/*/examples/**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', exports: 'writable', console: 'readonly', process: 'readonly', Buffer: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-require-imports': 'off',
      '@typescript-eslint/consistent-type-imports': 'off',
      'no-undef': 'error',
    },
  },
  {
    // Examples use the packages by name, as a user would: never their sources or tests.
    files: ['packages/*/examples/**/*.ts', 'packages/*/examples/**/*.js'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '^\\.\\.?/(.*/)?(src|test|dist)(/|$)', message: 'import the package by name, as a user would' }] }],
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.name='require'] > Literal[value=/^\\.\\.?\\/(.*\\/)?(src|test|dist)(\\/|$)/]",
          message: 'require the package by name, as a user would',
        },
      ],
    },
  },
);

// ESLint: the recommended JavaScript and type-aware TypeScript rules.
import js from '@eslint/js'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.rgw/', '.data/', 'scratch/', 'test/artifacts/', 'examples/**/*.bundle.js'] },
  js.configs.recommended,
  // The example page and the browser client run in browsers.
  { files: ['examples/browser/**/*.js', 'client/src/**/*.ts'], languageOptions: { globals: globals.browser } },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-control-regex': 'off',
    },
  },
)

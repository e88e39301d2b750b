import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'data/',
      'dist/',
      'web/dist/',
      'models/',
      'test-artifacts/',
      'scratch/',
      'src/store/migrations/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The domain is pure: no I/O and no other src folder (STYLE.md, habit 2).
    files: ['src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '../store/*',
                '../nlp/*',
                '../connectors/*',
                '../workers/*',
                '../api/*',
                '../responders/*',
              ],
              message: 'src/domain imports nothing outside itself.',
            },
            {
              group: [
                'node:fs',
                'node:net',
                'node:http',
                'pg',
                'ioredis',
                'bullmq',
                'fastify',
                'drizzle-orm*',
              ],
              message: 'src/domain does no I/O.',
            },
          ],
        },
      ],
    },
  },
);

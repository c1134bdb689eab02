import { fileURLToPath } from 'node:url';

/** The CLI package's own directory (the parent of `dist/`): where its bundled connectors are found. */
export const CLI_PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));

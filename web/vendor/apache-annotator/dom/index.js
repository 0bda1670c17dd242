// Entry point written by tests/e2e/vendor.mjs (css.js left out).
export * from './range/index.js';
export * from './text-quote/index.js';
export * from './text-position/index.js';
export * from './highlight-text.js';

// Entry point written by tests/e2e/vendor.mjs (css.js left out).
export * from './text/index.js';

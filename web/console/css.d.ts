// esbuild bundles the stylesheets a module imports (scripts/build-console.ts).
declare module '*.css';

// esbuild bundles the stylesheets a module imports (scripts/build-graphiql.ts).
declare module '*.css';

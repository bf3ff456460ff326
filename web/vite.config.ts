import { defineConfig } from "vitest/config";

// `npm run dev`: Vite's dev server with hot reload, forwarding the API and the sign-in
// endpoints to a running stack (`make run`: Envoy on :8080, or CHATSTACK_URL).
const target = process.env.CHATSTACK_URL ?? "http://127.0.0.1:8080";
const api = { target, changeOrigin: false };

export default defineConfig({
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    // Every JS/CSS file gets a content hash under assets/: served as immutable.
    assetsDir: "assets",
  },
  server: {
    proxy: {
      "^/chats?(/|$|\\?|:)": api,
      "^/api-keys(/|$)": api,
      "^/v1/": api,
      "/dev/token": api,
      "/ui-config.json": api,
    },
  },
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
  },
});

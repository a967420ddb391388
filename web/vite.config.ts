import { defineConfig } from "vite";
import preact from "@preact/preset-vite";
import { resolve } from "node:path";

// Three pages, every asset bundled (no CDN): / (customers and providers), /console/
// (operators), /docs/ (the API reference). The API's URLs come at run time from
// /config.json, written by whoever serves dist/ (devstack/web.py locally, infra/ in the cloud).
export default defineConfig({
  plugins: [preact()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsInlineLimit: 0,
    rollupOptions: {
      input: {
        app: resolve(__dirname, "index.html"),
        console: resolve(__dirname, "console/index.html"),
        docs: resolve(__dirname, "docs/index.html"),
      },
    },
  },
});

import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// Built into dist/ and served by flowyard's API server at / (assets under /assets).
export default defineConfig({
  plugins: [react()],
  base: "/",
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 1500 },
  server: { proxy: { "/api": "http://127.0.0.1:8080" } },
});

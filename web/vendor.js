// Copies the built socket.io client (and its licence) from node_modules into static/vendor, where the
// page loads it: the page then needs no network beyond the assistant. Run with `npm ci && npm run vendor`.
// The source-map comment is dropped (the map is not shipped, so nothing asks for it).
const fs = require("fs");
const path = require("path");

const pkg = path.join(__dirname, "node_modules", "socket.io-client");
const out = path.join(__dirname, "static", "vendor");
fs.mkdirSync(out, { recursive: true });

const js = fs.readFileSync(path.join(pkg, "dist", "socket.io.min.js"), "utf8")
  .replace(/\n\/\/# sourceMappingURL=\S+\s*$/, "\n");
fs.writeFileSync(path.join(out, "socket.io.min.js"), js);
fs.copyFileSync(path.join(pkg, "LICENSE"), path.join(out, "socket.io-client.LICENSE"));
const version = require(path.join(pkg, "package.json")).version;
console.log(`static/vendor/socket.io.min.js (socket.io-client ${version}) and its licence`);

#!/usr/bin/env bash
# Replays docker/Dockerfile without a container engine, on this machine's Node: the production-only install
# (`npm ci --omit=dev`), the image's files (package.json, bin, migrations, src — nothing else), its
# environment, its CMD and HEALTHCHECK, then SIGTERM as `docker stop` sends it. It catches what an image
# build would: a runtime import of a dev dependency, a file the image does not copy, a start that needs the
# repository around it, a shutdown that does not exit cleanly. It cannot check the base image or apt steps.
#
#   bash docker/rehearse.sh [PORT]        (from the repository root; about a minute, mostly npm ci)
set -euo pipefail

port="${1:-3999}"
root="$(cd "$(dirname "$0")/.." && pwd)"
app="$(mktemp -d)"
data="$app/data"
log="$app/server.log"
server=""
cleanup() {
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then kill -KILL "$server" 2>/dev/null || true; fi
  rm -rf "$app"
}
trap cleanup EXIT

echo "deps stage: npm ci --omit=dev in $app"
cp "$root/package.json" "$root/package-lock.json" "$app/"
(cd "$app" && npm ci --omit=dev --no-audit --no-fund --loglevel=error)

echo "runtime stage: the files the image copies"
cp -r "$root/bin" "$root/migrations" "$root/src" "$app/"
rm "$app/package-lock.json"
mkdir -p "$data" "$app/datasets"

echo "compute: tfjs's wasm backend (SAE training on real data) starts from the production install"
(cd "$app" && env -i PATH="$PATH" HOME="$app" node --import tsx -e \
  "import('./src/ml/nn/tfjs-kernel.ts').then((m) => m.loadDenseKernel('wasm')).then((k) => { if (k.name !== 'wasm') process.exit(1); console.log('  kernel:', k.name); })")

echo "CMD: node --import tsx src/server/server.ts (NODE_ENV=production, PRISM_DB=$data/prism.db)"
(
  cd "$app"
  exec env -i PATH="$PATH" HOME="$app" NODE_ENV=production HOST=127.0.0.1 PORT="$port" \
    PRISM_DB="$data/prism.db" PRISM_DATA_ROOT="$app/datasets" PRISM_API_KEYS=rehearsal PRISM_BOOTSTRAP=synthetic \
    PRISM_READS_OPEN=true \
    node --import tsx src/server/server.ts
) >"$log" 2>&1 &
server=$!

ready=""
for _ in $(seq 1 180); do
  if ! kill -0 "$server" 2>/dev/null; then echo "the server exited during start-up:"; cat "$log"; exit 1; fi
  if curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null; then ready=1; break; fi
  sleep 1
done
[ -n "$ready" ] || { echo "not ready after 180 s:"; tail -20 "$log"; exit 1; }
echo "ready (the bootstrap pipeline trained and activated a model)"

echo "HEALTHCHECK"
(cd "$app" && PORT="$port" node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))")
curl -sf "http://127.0.0.1:$port/v1/users/u1/recommendations?k=3&explain=true" | head -c 300
echo

echo "docker stop: SIGTERM, then wait"
kill -TERM "$server"
status=0
wait "$server" || status=$?
server=""
if [ "$status" -ne 0 ]; then echo "exit status $status after SIGTERM:"; tail -20 "$log"; exit 1; fi
grep -q 'shut down cleanly' "$log" || { echo "no clean-shutdown line in the log"; tail -20 "$log"; exit 1; }
[ -s "$data/prism.db" ] || { echo "the database is not in the volume path"; exit 1; }
echo "rehearsal passed: production install, image files only, wasm kernel, ready, healthy, clean SIGTERM exit"

#!/usr/bin/env bash
# The main job: build everything, start the history server on 127.0.0.1:8787
# (SQLite file kg-history.sqlite, the project's demo graphs in examples/graphs
# and, when beside the repository, ../shared's fixture graphs, seeded under
# UUID ids; a demo token) serving the www/ app at /, run the
# review-approve-save demo against it, and keep serving. Works in any clone.
#   KG_ADDR, KG_DB, KG_TOKEN override the defaults. KG_DB is a SQLite file or
#   a postgres:// URL; KG_DB=postgres starts a throwaway PostgreSQL cluster
#   (scripts/pg.sh, gone when this script ends) and runs the server on it.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
addr=${KG_ADDR:-127.0.0.1:8787}
db=${KG_DB:-kg-history.sqlite}
token=${KG_TOKEN:-demo-token-0001}

bash scripts/setup.sh
bash scripts/build-pkg.sh
(cd www && npx vite build --logLevel warn)
cargo build --release -p kg-approval-server

if [ "$db" = postgres ]; then
  { read -r db; read -r _; } < <(bash scripts/pg.sh start --owner $$)
  [ -n "$db" ] || { echo "could not start PostgreSQL" >&2; exit 1; }
  echo "PostgreSQL for this run: $db"
fi

# The demo user may also read audit trails (the seeded graphs are not theirs).
args=(--addr "$addr" --db "$db" --token "$token=demo@example.com:read,write,audit")
# The project's own demo graphs (examples/graphs), always; the fixture graphs
# of ../shared too when they are beside the repository (read in place, never
# copied here).
args+=(--seed examples/graphs)
demo_title="Kunnskapsgraf: gjennomgang"
if [ -d ../shared/fixtures/vegvisr ]; then
  args+=(--seed ../shared/fixtures/vegvisr)
  demo_title="Stine Oksvold"
fi
[ -d www/dist ] && args+=(--www www/dist)
target/release/kg-approval-server "${args[@]}" &
server=$!
trap 'kill $server 2>/dev/null' EXIT
for _ in $(seq 50); do curl -sf "http://$addr/getknowgraphhistory?id=probe" >/dev/null && break; sleep 0.2; done

node examples/demo.js --server "http://$addr" --token "$token" --graph-title "$demo_title" || true
echo
echo "Open http://$addr/ and sign in with the token $token (demo@example.com). Ctrl-C stops the server."
wait $server

# Sourced by the shell peer drivers: the driver contract's arguments into variables
# (host, port, n, file, from, to). Usage: source args.sh "$@"
host=127.0.0.1 port=25 n=1 file= from=bench@example.org to=sink@example.org
while [ $# -gt 0 ]; do
  case "$1" in
    --host) host=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --n) n=$2; shift 2 ;;
    --file) file=$2; shift 2 ;;
    --from) from=$2; shift 2 ;;
    --to) to=$2; shift 2 ;;
    *) echo "$(basename "$0"): unknown argument $1" >&2; exit 2 ;;
  esac
done

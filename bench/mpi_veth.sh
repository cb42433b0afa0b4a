#!/usr/bin/env bash
# Runs a two-device Weft library under MPI with its two ranks in two network
# namespaces joined by a veth pair, so that every message between them
# crosses a network interface (Open MPI's TCP transport), and prints the
# bytes the interface carried. Needs root (ip netns) and Open MPI.
#
#   bash bench/mpi_veth.sh LIB.so --input-dir DATA [weft-run options...]
#
# The namespaces weft-veth-a (10.77.0.1) and weft-veth-b (10.77.0.2) are
# created for the run and removed after it. mpirun runs in the first; Open
# MPI starts the second rank's daemon through a launcher script that enters
# the second namespace (plm_rsh_agent), and both ranks talk over TCP on the
# veth pair only.
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
WEFT_RUN=${WEFT_RUN:-$HERE/build/bin/weft-run}
A=weft-veth-a B=weft-veth-b
WORK=$(mktemp -d)
cleanup() {
  ip netns del "$A" 2>/dev/null || true
  ip netns del "$B" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
ip netns add "$A"
ip netns add "$B"
ip link add weft-va type veth peer name weft-vb
ip link set weft-va netns "$A"
ip link set weft-vb netns "$B"
ip -n "$A" addr add 10.77.0.1/24 dev weft-va
ip -n "$B" addr add 10.77.0.2/24 dev weft-vb
for ns in "$A" "$B"; do ip -n "$ns" link set lo up; done
ip -n "$A" link set weft-va up
ip -n "$B" link set weft-vb up
cat > "$WORK/launch.sh" <<LAUNCH
#!/bin/sh
# Open MPI's remote launcher: the command runs in the namespace of its host.
while [ \$# -gt 0 ]; do
  case "\$1" in
    10.77.0.1) ns=$A; shift; break ;;
    10.77.0.2) ns=$B; shift; break ;;
    *) shift ;;
  esac
done
exec ip netns exec "\$ns" /bin/sh -c "\$*"
LAUNCH
chmod +x "$WORK/launch.sh"
printf '10.77.0.1 slots=1\n10.77.0.2 slots=1\n' > "$WORK/hosts"
tx() { ip -n "$A" -s link show weft-va | awk '/TX:/ { getline; print $1 }'; }
before=$(tx)
ip netns exec "$A" mpirun -np 2 --allow-run-as-root --hostfile "$WORK/hosts" \
  --mca plm_rsh_agent "$WORK/launch.sh" --mca btl tcp,self \
  --mca btl_tcp_if_include 10.77.0.0/24 --mca oob_tcp_if_include 10.77.0.0/24 \
  -x PATH "$WEFT_RUN" "$@"
echo "veth: rank 0's interface sent $(( $(tx) - before )) bytes"

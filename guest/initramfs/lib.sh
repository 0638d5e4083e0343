# Guest-side helpers for system test suites (busybox sh).
#
# result NAME STATUS [DETAIL]   prints "RESULT NAME PASS|FAIL DETAIL"
# check NAME CMD...             runs CMD; PASS if it succeeds
# hostq QUERY                   asks the host harness (see tests/system/lib.sh)
#                               and prints its one-line answer

HOSTQ_ID=0

result() {
	echo "RESULT $1 $2 ${3:-}"
}

check() {
	name=$1; shift
	if out=$("$@" 2>&1); then
		result "$name" PASS "$(echo "$out" | tr '\n' ' ' | cut -c1-200)"
	else
		result "$name" FAIL "$(echo "$out" | tr '\n' ' ' | cut -c1-300)"
	fi
}

# The host-query port: a virtio-serial port named "hostq".
hostq_port() {
	for p in /sys/class/virtio-ports/*; do
		[ "$(cat "$p/name" 2>/dev/null)" = hostq ] && { echo "/dev/$(basename "$p")"; return 0; }
	done
	return 1
}

hostq() {
	port=$(hostq_port) || { echo "ERROR no-hostq-port"; return 1; }
	HOSTQ_ID=$((HOSTQ_ID + 1))
	exec 7<>"$port"
	echo "Q $HOSTQ_ID $*" >&7
	while read -r tag id answer <&7; do
		[ "$tag" = A ] && [ "$id" = "$HOSTQ_ID" ] && break
	done
	exec 7>&-
	echo "$answer"
}

# Value of KEY from "key=value key=value" text.
kv() {
	echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

pci_dev() {
	echo "/sys/bus/pci/devices/0000:$1"
}

# Loads /lib/modules/suite/* in the order the host computed. A variable
# KMOD_ARGS_<name> (name with - as _) gives a module its parameters.
load_suite_modules() {
	[ -f /lib/modules/suite/order ] || return 0
	while read -r m; do
		n=$(echo "${m%.ko}" | tr - _)
		eval "args=\${KMOD_ARGS_$n:-}"
		# shellcheck disable=SC2086
		insmod "/lib/modules/suite/$m" $args || { echo "insmod $m failed"; return 1; }
	done < /lib/modules/suite/order
}

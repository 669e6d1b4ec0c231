# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Kernel configuration steps shared by build.sh and off-diff.sh (sourced;
# the caller defines log and die).

# Every CONFIG_X=y/m/value of fragment $2 must survive olddefconfig in
# object directory $1; CONFIG_X=n must end up unset.
check_config() {
	local obj=$1 frag=$2 line sym val bad=0
	while IFS= read -r line; do
		case $line in CONFIG_*=*) ;; *) continue ;; esac
		sym=${line%%=*}
		val=${line#*=}
		if [ "$val" = n ]; then
			if grep -q "^$sym=" "$obj/.config"; then
				log "config: $sym is set, wanted off"
				bad=1
			fi
		elif ! grep -qx "$sym=$val" "$obj/.config"; then
			log "config: $sym=$val did not stick (missing dependency?)"
			bad=1
		fi
	done < "$frag"
	[ $bad = 0 ] || die "config fragments do not apply"
}

# kconfig TREE OBJ FRAGMENT [MAKE ARGS...]: configure OBJ for the source
# TREE from nothing but FRAGMENT (allnoconfig, then the defaults of what
# it leaves open), and check that every line of FRAGMENT stuck.  MAKE ARGS
# are for another architecture (ARCH=..., CROSS_COMPILE=...).
kconfig() {
	local tree=$1 obj=$2 frag=$3
	shift 3
	mkdir -p "$obj"
	make -s -C "$tree" O="$obj" "$@" KCONFIG_ALLCONFIG="$frag" \
		allnoconfig >/dev/null
	make -s -C "$tree" O="$obj" "$@" olddefconfig >/dev/null
	check_config "$obj" "$frag"
}

# off_fragment CONFIGS: the debug configuration of the fragments in
# directory CONFIGS without on-demand fork, on stdout.
off_fragment() {
	grep -hv '^CONFIG_ODFORK=' "$1/base.config" "$1/debug.config"
	echo CONFIG_ODFORK=n
}

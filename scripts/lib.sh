# Shared helpers of the neural_dag scripts (sourced, not run).

NDAG_PACKAGES="build-essential postgresql-15 postgresql-server-dev-15
liblmdb-dev lmdb-utils libopenblas-dev libopenblas0-serial postgresql-15-pgtap
libtap-parser-sourcehandler-pgtap-perl libipc-run-perl graphviz valgrind"
NDAG_CFLAGS_STRICT="-Wall -Wextra -Werror -Wno-unused-parameter -DUSE_ASSERT_CHECKING"
PG_BIN=${NDAG_PG_BIN:-/usr/lib/postgresql/15/bin}
export PATH="$PG_BIN:$PATH"

# as_root CMD...: run a command as root (directly, or through sudo)
as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# ndag_install_packages: install the Debian packages the build and tests need
ndag_install_packages() {
	local missing=""
	for p in $NDAG_PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		echo "== installing:$missing"
		as_root apt-get update -qq
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
	fi
	# the packaged cluster is not used; keep it from holding port 5432
	as_root systemctl disable --now postgresql >/dev/null 2>&1 || true
}

# ndag_build_install: build with warnings as errors and install the extension
ndag_build_install() {
	make -s NDAG_CFLAGS="$NDAG_CFLAGS_STRICT"
	as_root make -s install NDAG_CFLAGS="$NDAG_CFLAGS_STRICT"
}

# ndag_pg_user: the unprivileged user that runs PostgreSQL (initdb refuses root)
ndag_pg_user() {
	if [ "$(id -u)" -eq 0 ]; then echo postgres; else id -un; fi
}

# as_pg CMD...: run a command as that user, keeping PATH
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- env PATH="$PATH" "$@"
	else
		"$@"
	fi
}

# ndag_workdir: a copy of the tree the PostgreSQL user may write into
ndag_workdir() {
	local src=${1:?ndag_workdir: which tree to copy} dir
	if [ "$(id -u)" -ne 0 ]; then echo "$src"; return; fi
	dir=$(mktemp -d /tmp/neural_dag-run.XXXXXX)
	cp -a "$src"/. "$dir"/
	chown -R postgres: "$dir"
	echo "$dir"
}

# ndag_free_port: a TCP port nobody listens on
ndag_free_port() {
	local port=${1:-55432}
	while (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null; do port=$((port + 1)); done
	echo $port
}

# ndag_cluster_start DIR PORT [EXTRA_CONF]: a throwaway cluster preloading neural_dag
ndag_cluster_start() {
	local dir=$1 port=$2 extra=${3:-}
	as_pg initdb -D "$dir/data" -A trust -U postgres >/dev/null
	cat >>"$dir/data/postgresql.conf" <<CONF
shared_preload_libraries = 'neural_dag, pg_stat_statements'
listen_addresses = ''
port = $port
unix_socket_directories = '$dir'
$extra
CONF
	as_pg pg_ctl -D "$dir/data" -l "$dir/server.log" -w start >/dev/null
}

# ndag_cluster_stop DIR
ndag_cluster_stop() {
	as_pg pg_ctl -D "$1/data" -m fast -w stop >/dev/null 2>&1 || true
}

# ndag_fetch_upstream_source PACKAGE VERSION_PREFIX DIR: download into DIR
# the upstream tarball (PACKAGE_*.orig.tar.*) of Debian's source package
# PACKAGE from sid or trixie, the newest listed version that starts with
# VERSION_PREFIX (empty: any) and is still served.  A private apt
# configuration is used: the system's sources and lists are left alone.
ndag_fetch_upstream_source() {
	local pkg=$1 prefix=$2 dir=$3 apt_dir v
	apt_dir=$(mktemp -d /tmp/ndag-apt.XXXXXX)
	mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$dir"
	cat >"$apt_dir/src.sources" <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: sid trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	local apt=(-o "Dir::Etc::sourcelist=$apt_dir/src.sources" -o Dir::Etc::sourceparts=-
		-o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache")
	apt-get "${apt[@]}" update -qq
	# only the upstream tarball is needed: a Debian part no longer served does not matter
	for v in $(apt-cache "${apt[@]}" showsrc "$pkg" | sed -n 's/^Version: //p' | sort -V -r -u); do
		[[ $v == "$prefix"* ]] || continue
		(cd "$dir" && apt-get "${apt[@]}" source -qq --download-only "$pkg=$v" >/dev/null 2>&1) || true
		ls "$dir/${pkg}_"*.orig.tar.* >/dev/null 2>&1 && break
	done
	rm -rf "$apt_dir"
	ls "$dir/${pkg}_"*.orig.tar.* >/dev/null 2>&1 ||
		{ echo "no $pkg${prefix:+ $prefix} source could be downloaded" >&2; return 1; }
}

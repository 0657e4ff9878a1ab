# Shared by the README's commands: install what is missing, then build.
# Sourced, not run. Every step says what it does; nothing is downloaded
# except Debian packages through apt-get.

GP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GP_DEB_PACKAGES="build-essential cmake pkg-config libopenblas-dev libopenblas-serial-dev libxsmm-dev libhdf5-dev libcjson-dev check python3 python3-numpy python3-h5py"

gp_log() { printf '==> %s\n' "$*"; }

# Usage: with -h or --help among its arguments, the calling script prints its
# header comment (the lines after the #! line up to the first that is not a
# comment, which say what it does and how to call it) and exits 0, before it
# installs or builds anything.
gp_help() {
    local a
    for a in "$@"; do
        if [ "$a" = -h ] || [ "$a" = --help ]; then
            sed -n '2,/^[^#]/{/^#/{s/^# \{0,1\}//;s/^#$//;p}}' "$0"
            exit 0
        fi
    done
}

# Installs, with apt-get, only the Debian packages that are not installed yet.
gp_ensure_packages() {
    local missing=()
    local p
    for p in $GP_DEB_PACKAGES "$@"; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$p")
        fi
    done
    if [ ${#missing[@]} -eq 0 ]; then
        return 0
    fi
    gp_log "installing missing Debian packages: ${missing[*]}"
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo="sudo"
        else
            echo "error: packages missing (${missing[*]}) and not root; run as root or install them with apt-get" >&2
            return 1
        fi
    fi
    $sudo apt-get update -qq || return 1
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null || return 1
}

# Configures and builds into $1 (default build/) with extra CMake arguments.
gp_build() {
    local dir="${1:-$GP_ROOT/build}"
    shift || true
    gp_log "building in ${dir#$GP_ROOT/} $*"
    mkdir -p "$dir"
    # Warnings are errors, so a quiet log is a clean build; show it on failure.
    if ! { cmake -S "$GP_ROOT" -B "$dir" -DGNNPERF_WERROR=ON "$@" && cmake --build "$dir" -j "$(nproc)"; } \
        >"$dir/build.log" 2>&1; then
        cat "$dir/build.log" >&2
        echo "error: build failed (log: $dir/build.log)" >&2
        return 1
    fi
}

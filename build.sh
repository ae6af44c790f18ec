#!/usr/bin/env bash
# TurboGen build entry point.
#   ./build.sh test          install what the tests need (Chromium, redis-server), restore, build and run the fast test suite
#   ./build.sh test-slow     the same, plus the opt-in full-size checks (Category=Slow; hours, ~40 GB of disk)
#   ./build.sh pack          dotnet pack: the CPU and CUDA (and DirectML) tool packages into nupkg/
#   ./build.sh publish RID [FLAVOUR]
#                            self-contained single-file turbogen for RID (linux-x64, win-x64, osx-arm64) into artifacts/;
#                            FLAVOUR cpu (default), cuda (linux-x64) or directml (win-x64)
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

die() { echo "build.sh: $*" >&2; exit 2; }

need_dotnet() {
  command -v dotnet >/dev/null 2>&1 || die "the .NET 10 SDK is not on PATH: install it from https://dot.net (see global.json for the band)."
}

# The browser end-to-end tests drive a real Chromium through Playwright. Debian/Ubuntu: the distribution's chromium
# (apt). Elsewhere: the browser tests fall back to Playwright's own Chromium download (see BrowserFixture).
ensure_chromium() {
  if [ -n "${TURBOGEN_CHROMIUM:-}" ] || command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
    return 0
  fi
  if [ -r /etc/os-release ] && grep -qiE '^(ID|ID_LIKE)=.*(debian|ubuntu)' /etc/os-release && command -v apt-get >/dev/null 2>&1; then
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "build.sh: installing Chromium for the browser tests (apt-get install chromium)"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
  else
    echo "build.sh: no system Chromium; the browser tests will use Playwright's own Chromium download (set TURBOGEN_CHROMIUM=/path/to/chrome to use another)."
  fi
}

# The scale-out tests (issue 17) start their own redis-server on a free 127.0.0.1 port: Debian/Ubuntu's package.
ensure_redis() {
  if [ -n "${REDIS_SERVER:-}" ] || command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ]; then
    return 0
  fi
  if [ -r /etc/os-release ] && grep -qiE '^(ID|ID_LIKE)=.*(debian|ubuntu)' /etc/os-release && command -v apt-get >/dev/null 2>&1; then
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "build.sh: installing redis-server for the scale-out tests (apt-get install redis-server)"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-server >/dev/null
    # The package's own service is not needed: the tests start private servers.
    if command -v systemctl >/dev/null 2>&1; then $sudo systemctl disable --now redis-server >/dev/null 2>&1 || true; fi
  else
    echo "build.sh: no redis-server; the scale-out tests will fail (install Redis 7, or set REDIS_SERVER=/path/to/redis-server)."
  fi
}

# The Kubernetes manifests (deploy/) are linted with yamllint (Debian/Ubuntu's package; skipped with a note elsewhere);
# DeployManifestTests then checks that they agree with the code.
lint_deploy() {
  if ! command -v yamllint >/dev/null 2>&1 && [ -r /etc/os-release ] && grep -qiE '^(ID|ID_LIKE)=.*(debian|ubuntu)' /etc/os-release && command -v apt-get >/dev/null 2>&1; then
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "build.sh: installing yamllint for the deploy/ manifests (apt-get install yamllint)"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq yamllint >/dev/null || true
  fi
  if command -v yamllint >/dev/null 2>&1; then
    yamllint -s -c deploy/.yamllint deploy/ || die "deploy/: yamllint found problems (above)."
  else
    echo "build.sh: no yamllint; deploy/ is checked by DeployManifestTests only."
  fi
}

run_tests() {
  need_dotnet
  ensure_chromium
  ensure_redis
  lint_deploy
  dotnet restore TurboGen.slnx
  local log status
  log="$(mktemp)"
  set +e
  dotnet test TurboGen.slnx -c Release --no-restore "$@" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  set -e
  sed -n 's/.*Failed: *\([0-9][0-9]*\), Passed: *\([0-9][0-9]*\), Skipped: *\([0-9][0-9]*\).*/\1 \2 \3/p' "$log" \
    | awk '{ f += $1; p += $2; s += $3 } END { printf "%d passed, %d failed, %d skipped\n", p, f, s }'
  rm -f "$log"
  return "$status"
}

case "${1:-}" in
  test)      run_tests --filter "Category!=Slow" ;;
  test-slow) TURBOGEN_SLOW_TESTS=1 run_tests ;;
  pack)
    need_dotnet
    dotnet pack src/TurboGen.Cli -c Release        # TurboGen.Cli: CPU, every desktop platform
    dotnet pack src/TurboGen.Cli.Cuda -c Release   # TurboGen.Cli.Cuda: NVIDIA GPUs, linux-x64
    # TurboGen.Cli.DirectML (Windows) is packed where NuGet serves Microsoft.ML.OnnxRuntime.DirectML (see README).
    log="$(mktemp)"
    if dotnet restore src/TurboGen.Cli.DirectML >"$log" 2>&1; then
      dotnet pack src/TurboGen.Cli.DirectML -c Release --no-restore
    else
      echo "build.sh: TurboGen.Cli.DirectML not packed: $(grep -m1 -o 'error NU[0-9]*: [^[]*' "$log" || tail -n 1 "$log")" >&2
    fi
    rm -f "$log"
    ls -l nupkg/
    ;;
  publish)
    need_dotnet
    rid="${2:-}"
    flavour="${3:-cpu}"
    [ -f "src/TurboGen.Cli/Properties/PublishProfiles/$rid.pubxml" ] \
      || die "publish needs a runtime identifier with a profile in src/TurboGen.Cli/Properties/PublishProfiles: linux-x64, win-x64 or osx-arm64."
    case "$flavour" in
      cpu) project=src/TurboGen.Cli; out="artifacts/turbogen-$rid" ;;
      cuda) project=src/TurboGen.Cli.Cuda; out="artifacts/turbogen-cuda-$rid" ;;
      directml) project=src/TurboGen.Cli.DirectML; out="artifacts/turbogen-directml-$rid" ;;
      *) die "unknown flavour '$flavour': cpu, cuda or directml." ;;
    esac
    dotnet publish "$project" -c Release -p:PublishProfile="$rid" -o "$out"
    ls -l "$out"
    ;;
  *) die "usage: ./build.sh test | test-slow | pack | publish RID [cpu|cuda|directml]" ;;
esac

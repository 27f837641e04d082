# Headless Chromium and its WebDriver for the console's browser tests (Debian's `chromium` and
# `chromium-driver`, installed if missing). Sourced by scripts/test.

browser_install() {
    if command -v chromedriver >/dev/null && command -v chromium >/dev/null; then
        return
    fi
    echo "installing Chromium and chromedriver (Debian packages chromium, chromium-driver)" >&2
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver >/dev/null
}

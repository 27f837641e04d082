# Sourced by the other scripts: `on_exit CMD` runs CMD when the script exits, after every command
# registered later (last in, first out). One EXIT trap runs them all, so a script's own clean-up
# never replaces the emulator's or the database's.
if ! declare -F on_exit >/dev/null; then
    EXIT_HOOKS=()
    run_exit_hooks() {
        local i
        for ((i = ${#EXIT_HOOKS[@]} - 1; i >= 0; i--)); do
            eval "${EXIT_HOOKS[$i]}" || true
        done
    }
    on_exit() {
        EXIT_HOOKS+=("$1")
        trap run_exit_hooks EXIT
    }
fi

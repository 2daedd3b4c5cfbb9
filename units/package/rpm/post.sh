# %post of the podup .rpm ($1: 1 on install, 2 on upgrade), what %systemd_post does
# minus the preset: systemd is told about the units, nothing is enabled or started
# (a preset policy of "enable *" would switch on a network-facing service).
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload || :
fi
if [ "$1" -eq 1 ]; then
    cat <<'MESSAGE'
podup: installed, and nothing is enabled or started (podup answers webhooks from the
network, so that is your choice). Set the variables you need in /etc/podup/podup.env,
then: systemctl enable --now podup.socket podup-auto-update.timer podup-recover.service
(rootless Podman: the same units with systemctl --user, ~/.config/podup/podup.env).
MESSAGE
fi

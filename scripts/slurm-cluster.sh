#!/usr/bin/env bash
# A one-node SLURM cluster on loopback, for testing the workflow's SLURM profile for real.
#
#   scripts/slurm-cluster.sh install   apt-get the daemons (Debian/Ubuntu, as root)
#   scripts/slurm-cluster.sh start     write the configs, start munged, mariadbd, slurmdbd,
#                                      slurmctld and slurmd, wait until the node is idle
#   scripts/slurm-cluster.sh status    which of the daemons started here are alive; sinfo
#   scripts/slurm-cluster.sh stop      stop exactly the processes `start` started (by the
#                                      pids recorded in the state directory)
#   scripts/slurm-cluster.sh env       the line to eval so that sbatch/sacct find the cluster
#
# Everything lives in the state directory ($AIRSHOWER_SLURM_DIR, default /tmp/airshower-slurm):
# configs, munge key and socket, the accounting database, spool, logs and pid files. The one
# file written outside it is /etc/slurm/slurm.conf, a symlink to the state directory's
# slurm.conf, made only when no slurm.conf exists there and removed by `stop`: the executor
# plugin's job step strips SLURM_* variables (SLURM_CONF included) before it calls `srun`
# inside the job, so the configuration must be where Slurm looks by default.
#
# The node is this machine, named `hostname -s`, at 127.0.0.1. It advertises 16 CPUs,
# 64 GB and 2 GPUs (a GRES without device files) whatever the hardware has
# (SlurmdParameters=config_overrides), so that the requests of workflow/profiles/slurm fit;
# nothing is bound to a real GPU, and processes share the machine's real cores.
# Known to work with Debian 12's Slurm 22.05, munge 0.5.15 and MariaDB 10.11, as root.
set -euo pipefail

STATE=${AIRSHOWER_SLURM_DIR:-/tmp/airshower-slurm}
PORT=${AIRSHOWER_SLURM_PORT:-6817}           # slurmctld; slurmd +1, slurmdbd +2, mariadb +3
CLUSTER=airshower
ACCOUNT=airshower
NODE=$(hostname -s)
ETC_LINK=/etc/slurm/slurm.conf
PACKAGES=(slurmctld slurmd slurm-client slurmdbd munge mariadb-server)
DAEMONS=(munged mariadbd slurmdbd slurmctld slurmd)   # start order; stop goes backwards

log() { printf 'slurm-cluster: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- helpers -------------------------------------------------------------------------------

pid_of() { cat "$STATE/run/$1.pid" 2>/dev/null || true; }

alive() {  # alive NAME: the daemon recorded under NAME runs (and is that program)
    local pid
    pid=$(pid_of "$1")
    [[ -n "$pid" && -r /proc/$pid/comm ]] || return 1
    # the kernel truncates comm to 15 characters; compare prefixes
    local comm
    comm=$(cat "/proc/$pid/comm")
    [[ "$1" == "$comm"* || "$comm" == "$1"* ]]
}

wait_for() {  # wait_for SECONDS DAEMON COMMAND...: poll until COMMAND succeeds
    local limit=$1 what=$2
    shift 2
    local waited=0
    until "$@" >/dev/null 2>&1; do
        if ! alive "$what" || ((waited >= limit * 5)); then
            alive "$what" && log "$what did not come up within ${limit} s" || log "$what died"
            log "last lines of its log ($STATE/log/$what.*):"
            tail -n 20 "$STATE/log/$what".* >&2 2>/dev/null || true
            "$@" >&2 || true
            return 1
        fi
        sleep 0.2
        waited=$((waited + 1))
    done
}

launch() {  # launch NAME COMMAND...: start COMMAND in its own session, record its pid
    local name=$1
    shift
    setsid "$@" >>"$STATE/log/$name.out" 2>&1 </dev/null &
    echo $! >"$STATE/run/$name.pid"
}

slurm_env() {
    export SLURM_CONF="$STATE/etc/slurm.conf"
}

# --- install -------------------------------------------------------------------------------

cmd_install() {
    [[ $(id -u) == 0 ]] || die "install needs root (apt-get)"
    command -v apt-get >/dev/null || die "install needs apt-get (Debian/Ubuntu)"
    apt-get update -qq
    # policy-rc.d or not, the packages' own services are not used: `start` runs the daemons
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null
    log "installed: ${PACKAGES[*]}"
}

# --- configuration -------------------------------------------------------------------------

write_configs() {
    local cpus=16 mem=64000 gpus=2
    mkdir -p "$STATE"/{etc,run,log,spool/ctld,spool/d,munge,mysql}
    chmod 755 "$STATE" "$STATE"/{etc,run,log}

    cat >"$STATE/etc/slurm.conf" <<EOF
# Written by scripts/slurm-cluster.sh: a one-node test cluster on loopback.
ClusterName=$CLUSTER
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$STATE/munge/munge.socket
StateSaveLocation=$STATE/spool/ctld
SlurmdSpoolDir=$STATE/spool/d
SlurmctldPidFile=$STATE/run/slurmctld.daemon.pid
SlurmdPidFile=$STATE/run/slurmd.daemon.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
SlurmdParameters=config_overrides
ReturnToService=2
MpiDefault=none
MailProg=/bin/true
# accounting through slurmdbd: the executor plugin asks sacct for the state of its jobs
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=$((PORT + 2))
# for slurmdbd connections Slurm 22.05 takes the munge socket from here, not from AuthInfo
AccountingStoragePass=$STATE/munge/munge.socket
AccountingStorageTRES=gres/gpu
# job comments carry the rule name (the plugin sets --comment rule_<name>_wildcards_...)
AccountingStoreFlags=job_comment
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=10
JobCompType=jobcomp/none
# finished jobs stay visible to squeue for 5 minutes (--slurm-status-command squeue works too)
MinJobAge=300
KillWait=5
SlurmdTimeout=60
GresTypes=gpu
NodeName=$NODE NodeAddr=127.0.0.1 NodeHostname=$NODE CPUs=$cpus RealMemory=$mem Gres=gpu:$gpus State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
    # Stand-in GPU devices: Slurm 22.05 counts a gpu GRES only with device files, so each
    # "GPU" is a character device with /dev/null's numbers (a plain file where mknod is not
    # allowed; slurmd then logs an error per file but counts them). Jobs that ask for GPUs
    # get CUDA_VISIBLE_DEVICES set; CUDA finds no device behind it and torch uses the CPU.
    mkdir -p "$STATE/dev"
    local i
    for ((i = 0; i < gpus; i++)); do
        [[ -e "$STATE/dev/gpu$i" ]] || mknod -m 666 "$STATE/dev/gpu$i" c 1 3 2>/dev/null || touch "$STATE/dev/gpu$i"
    done
    echo "NodeName=$NODE Name=gpu File=$STATE/dev/gpu[0-$((gpus - 1))]" >"$STATE/etc/gres.conf"
    chmod 644 "$STATE/etc/slurm.conf" "$STATE/etc/gres.conf"

    cat >"$STATE/etc/slurmdbd.conf" <<EOF
# Written by scripts/slurm-cluster.sh
AuthType=auth/munge
AuthInfo=socket=$STATE/munge/munge.socket
DbdAddr=127.0.0.1
DbdHost=$NODE
DbdPort=$((PORT + 2))
SlurmUser=root
PidFile=$STATE/run/slurmdbd.daemon.pid
LogFile=$STATE/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$((PORT + 3))
StorageUser=slurm
StoragePass=airshower-test
StorageLoc=slurm_acct_db
EOF
    chmod 600 "$STATE/etc/slurmdbd.conf"
}

link_default_config() {
    if [[ -L "$ETC_LINK" && "$(readlink "$ETC_LINK")" == "$STATE/etc/slurm.conf" ]]; then
        return
    fi
    if [[ -e "$ETC_LINK" || -L "$ETC_LINK" ]]; then
        die "$ETC_LINK exists and is not ours: this machine has its own Slurm; not touching it"
    fi
    mkdir -p "$(dirname "$ETC_LINK")"
    ln -s "$STATE/etc/slurm.conf" "$ETC_LINK"
}

unlink_default_config() {
    if [[ -L "$ETC_LINK" && "$(readlink "$ETC_LINK")" == "$STATE/etc/slurm.conf" ]]; then
        rm -f "$ETC_LINK"
    fi
}

# --- the daemons ---------------------------------------------------------------------------

start_munge() {
    chown munge:munge "$STATE/munge"
    chmod 755 "$STATE/munge"
    if [[ ! -s "$STATE/munge/munge.key" ]]; then
        dd if=/dev/urandom of="$STATE/munge/munge.key" bs=1024 count=1 status=none
    fi
    chown munge:munge "$STATE/munge/munge.key"
    chmod 400 "$STATE/munge/munge.key"
    launch munged setpriv --reuid=munge --regid=munge --init-groups \
        munged --foreground --force --key-file="$STATE/munge/munge.key" \
        --socket="$STATE/munge/munge.socket" --pid-file="$STATE/munge/munged.pid" \
        --log-file="$STATE/munge/munged.log" --seed-file="$STATE/munge/munged.seed"
    wait_for 20 munged bash -c "munge -n -S '$STATE/munge/munge.socket' | unmunge -S '$STATE/munge/munge.socket'"
}

mysql_root() { mariadb --no-defaults --socket="$STATE/mysql/mysqld.sock" -u root "$@"; }

start_mariadb() {
    local fresh=0
    chown mysql:mysql "$STATE/mysql"
    if [[ ! -d "$STATE/mysql/data/mysql" ]]; then
        fresh=1
        mariadb-install-db --no-defaults --user=mysql --datadir="$STATE/mysql/data" \
            --auth-root-authentication-method=socket --skip-test-db >"$STATE/log/mariadb-install.log" 2>&1 \
            || { tail -n 20 "$STATE/log/mariadb-install.log" >&2; die "mariadb-install-db failed"; }
    fi
    launch mariadbd mariadbd --no-defaults --user=mysql --datadir="$STATE/mysql/data" \
        --socket="$STATE/mysql/mysqld.sock" --pid-file="$STATE/mysql/mariadbd.pid" \
        --bind-address=127.0.0.1 --port=$((PORT + 3)) --skip-name-resolve \
        --log-error="$STATE/log/mariadbd.log" --innodb-buffer-pool-size=64M \
        --innodb-log-file-size=48M --innodb-lock-wait-timeout=900
    wait_for 60 mariadbd mariadb-admin --no-defaults --socket="$STATE/mysql/mysqld.sock" -u root ping
    if ((fresh)); then
        mysql_root -e "CREATE USER 'slurm'@'127.0.0.1' IDENTIFIED BY 'airshower-test';
                       GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1'; FLUSH PRIVILEGES;"
    fi
}

start_slurmdbd() {
    launch slurmdbd env SLURM_CONF="$STATE/etc/slurm.conf" slurmdbd -D
    wait_for 60 slurmdbd env SLURM_CONF="$STATE/etc/slurm.conf" sacctmgr -n list cluster
    # the cluster, an account and this user in it (the plugin validates slurm_account)
    local user
    user=$(id -un)
    if [[ -z "$(sacctmgr -n -P list cluster "$CLUSTER" format=cluster)" ]]; then
        sacctmgr -i add cluster "$CLUSTER" >/dev/null
    fi
    if [[ -z "$(sacctmgr -n -P list account "$ACCOUNT" format=account)" ]]; then
        sacctmgr -i add account "$ACCOUNT" Cluster="$CLUSTER" Description="airshower tests" Organization=airshower >/dev/null
    fi
    if [[ -z "$(sacctmgr -n -P list user "$user" format=user)" ]]; then
        sacctmgr -i add user "$user" Account="$ACCOUNT" DefaultAccount="$ACCOUNT" >/dev/null
    fi
}

start_slurmctld() {
    launch slurmctld slurmctld -D -c -f "$STATE/etc/slurm.conf"
    wait_for 60 slurmctld bash -c "scontrol ping | grep -q 'is UP'"
}

start_slurmd() {
    launch slurmd slurmd -D -f "$STATE/etc/slurm.conf" -N "$NODE"
    wait_for 60 slurmd bash -c "sinfo -h -n '$NODE' -o %T | grep -qx idle"
}

cmd_start() {
    [[ $(id -u) == 0 ]] || die "start needs root (the daemons run as root, munged as user munge)"
    for prog in munged mariadbd slurmdbd slurmctld slurmd sbatch sacct; do
        command -v "$prog" >/dev/null || die "$prog not found: run '$0 install' (as root, Debian/Ubuntu)"
    done
    local running=()
    for d in "${DAEMONS[@]}"; do alive "$d" && running+=("$d"); done
    if ((${#running[@]} == ${#DAEMONS[@]})); then
        log "already running ($STATE)"
        return
    fi
    ((${#running[@]} == 0)) || die "partly running (${running[*]}): run '$0 stop' first"
    mkdir -p "$STATE"
    write_configs
    link_default_config
    slurm_env
    local t0=$SECONDS
    start_munge
    start_mariadb
    start_slurmdbd
    start_slurmctld
    start_slurmd
    log "up in $((SECONDS - t0)) s: cluster $CLUSTER, node $NODE, account $ACCOUNT, state $STATE"
}

cmd_stop() {
    local i pid name
    for ((i = ${#DAEMONS[@]} - 1; i >= 0; i--)); do
        name=${DAEMONS[i]}
        pid=$(pid_of "$name")
        [[ -n "$pid" ]] || continue
        if alive "$name"; then
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 100); do alive "$name" || break; sleep 0.1; done
            if alive "$name"; then
                log "$name ($pid) ignored SIGTERM for 10 s; killing it"
                kill -KILL "$pid" 2>/dev/null || true
            fi
        fi
        rm -f "$STATE/run/$name.pid"
    done
    unlink_default_config
    log "stopped (state kept in $STATE; remove it for a fresh cluster)"
}

cmd_status() {
    local rc=0 d
    for d in "${DAEMONS[@]}"; do
        if alive "$d"; then
            printf '%-10s running (pid %s)\n' "$d" "$(pid_of "$d")"
        else
            printf '%-10s stopped\n' "$d"
            rc=1
        fi
    done
    if ((rc == 0)); then
        slurm_env
        sinfo -N -o '%N %T %c %m %G' || rc=1
    fi
    return $rc
}

cmd_env() {
    echo "export SLURM_CONF='$STATE/etc/slurm.conf'"
}

case "${1:-}" in
install) cmd_install ;;
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
env) cmd_env ;;
*)
    sed -n '2,10p' "$0" >&2
    exit 2
    ;;
esac

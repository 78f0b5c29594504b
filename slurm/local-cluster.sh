#!/usr/bin/env bash
# local-cluster.sh — a throw-away single-node Slurm cluster for Tessera's tests and CI.
#
# Required Debian 12 (bookworm) packages:
#
#   apt-get update
#   apt-get install -y -o DPkg::Lock::Timeout=600 --no-install-recommends \
#       slurm-wlm munge libpmix-dev openmpi-bin
#
#   slurm-wlm    slurmctld + slurmd + client commands (pulls in slurm-wlm-basic-plugins,
#                which holds mpi_pmix.so / mpi_pmix_v4.so)
#   munge        munged (authentication between the daemons and the clients)
#   libpmix-dev  Debian's mpi_pmix plugin dlopen()s the *unversioned*
#                /usr/lib/x86_64-linux-gnu/pmix2/lib/libpmix.so, which only the -dev
#                package ships; without it `srun --mpi=pmix` fails to load the plugin
#   openmpi-bin  mpirun / libopenmpi3 for the Tessera binary (already needed to build it)
#
# Usage:
#   local-cluster.sh start  DIR   create config + munge key in DIR, start munged, slurmctld,
#                                 slurmd, wait until the node is idle, write DIR/env.sh
#   local-cluster.sh stop   DIR   cancel jobs, stop the daemons recorded in DIR, wait for them
#   local-cluster.sh status DIR   report which daemons run (exit 0 only if all three run)
#
# Then:  source DIR/env.sh; sbatch ...; squeue; scontrol show job N
#
# Everything (config, munge key/socket, state, spool, pids, logs) lives in DIR; nothing in
# /etc/slurm, /etc/munge, /run/munge or /var is read or written, so this can run beside a
# system Slurm/munge.  `start` wipes the previous job state in DIR (job ids restart at 1)
# and moves the previous logs and DIR/log/jobcomp.txt to DIR/log/prev/.
#
# Finished jobs: one line per job (and one, JobState=PENDING, per requeued run) is appended
# to DIR/log/jobcomp.txt; `scontrol show job N` keeps them for MinJobAge=300 s; no sacct.
# To rerun a requeued job at once: wait until it is PENDING, then
# `scontrol update JobId=N StartTime=now+2` (not in the requeue's own second: the launch
# would fail with "Job credential revoked").
#
# Tunables (environment variables, all optional):
#   LOCAL_SLURM_CTLD_PORT   slurmctld port           (default 16817, not the system 6817)
#   LOCAL_SLURM_SLURMD_PORT slurmd port              (default 16818, not the system 6818)
#   LOCAL_SLURM_CPUS        CPUs the node advertises (default 4, oversubscribes small VMs)
#   LOCAL_SLURM_CRED_EXPIRE credential lifetime, s   (default 5; a requeued job becomes
#                                                     eligible cred_expire+1 s after requeue)
#   LOCAL_SLURM_KILL_WAIT   SIGTERM -> SIGKILL grace (default 5 s)
#   LOCAL_SLURM_TIMEOUT     seconds to wait for the node to become idle (default 30)
set -euo pipefail

PROG=$(basename "$0")
CTLD_PORT=${LOCAL_SLURM_CTLD_PORT:-16817}
SLURMD_PORT=${LOCAL_SLURM_SLURMD_PORT:-16818}
NODE_CPUS=${LOCAL_SLURM_CPUS:-4}
CRED_EXPIRE=${LOCAL_SLURM_CRED_EXPIRE:-5}
KILL_WAIT=${LOCAL_SLURM_KILL_WAIT:-5}
START_TIMEOUT=${LOCAL_SLURM_TIMEOUT:-30}
DAEMONS=(munged slurmctld slurmd)
if ! [[ $CRED_EXPIRE =~ ^[0-9]+$ ]] || ((CRED_EXPIRE < 5)); then
    # Slurm rejects smaller values ("AuthInfo=cred_expire=4 invalid") and silently uses 120.
    echo "$PROG: LOCAL_SLURM_CRED_EXPIRE must be an integer >= 5" >&2
    exit 2
fi

die() {
    echo "$PROG: error: $*" >&2
    exit 1
}

usage() {
    echo "usage: $PROG {start|stop|status} DIR" >&2
    exit 2
}

# The process id recorded for daemon $1 if that process still runs the daemon, else nothing.
live_pid() {
    local name=$1 pidfile="$DIR/run/$1.pid" pid comm
    [[ -s $pidfile ]] || return 1
    pid=$(<"$pidfile")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
    # Debian installs the daemons as slurmctld-wlm etc. behind alternatives symlinks.
    [[ $comm == "$name"* ]] || return 1
    echo "$pid"
}

# slurmstepd processes spawned by this cluster's slurmd (they inherit its SLURM_CONF).
stepd_pids() {
    local p
    for p in /proc/[0-9]*; do
        [[ $(cat "$p/comm" 2>/dev/null) == slurmstepd* ]] || continue
        if { tr '\0' '\n' <"$p/environ"; } 2>/dev/null | grep -qxF "SLURM_CONF=$CONF"; then
            echo "${p#/proc/}"
        fi
    done
}

log_tails() {
    local d f
    for d in slurmctld slurmd munged; do
        # Daemon logs; the captured stdout/stderr (.out) only where the log file stayed empty,
        # e.g. when a daemon failed before opening it (munged logs to .out only).
        f=$DIR/log/$d.log
        [[ -s $f ]] || f=$DIR/log/$d.out
        [[ -s $f ]] || continue
        echo "----- tail -n 25 $f -----" >&2
        tail -n 25 "$f" >&2
    done
}

port_busy() {
    ss -Htln "sport = :$1" 2>/dev/null | grep -q .
}

# Starts "$@" detached (own session, no terminal, stdin/stdout/stderr off the caller's pipes,
# so a CI step that captures our output is not kept open) and records its pid as $DIR/run/$name.pid.
spawn() {
    local name=$1
    shift
    local pid i
    setsid "$@" </dev/null >>"$DIR/log/$name.out" 2>&1 &
    pid=$!
    echo "$pid" >"$DIR/run/$name.pid"
    # Until the child has exec'd, /proc/PID/comm still says bash/setsid; wait for the exec so
    # live_pid does not mistake a starting daemon for a dead one.
    for i in $(seq 1 50); do
        [[ $(cat "/proc/$pid/comm" 2>/dev/null || echo "$name") == "$name"* ]] && return 0
        sleep 0.05
    done
    echo "$PROG: warning: $name (pid $pid, try $i) did not exec in time" >&2
}

write_config() {
    local host user mem_mb
    host=$(hostname -s)
    user=$(id -un)
    # RealMemory: 90% of MemTotal, in MiB.
    mem_mb=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)

    cat >"$CONF" <<EOF
# Generated by $PROG start $DIR on $(date -u +%FT%TZ). Overwritten on every start.
ClusterName=tessera-local
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=$user
SlurmdUser=$user

# Authentication through the munged started from this directory.
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$DIR/munge/run/munge.socket.2,cred_expire=$CRED_EXPIRE

StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool/slurmd
SlurmctldPidFile=$DIR/run/slurmctld.daemon.pid
SlurmdPidFile=$DIR/run/slurmd.daemon.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=$DIR/etc/plugstack.conf
TmpFS=$DIR/tmp

# No cgroups (no systemd here): plain /proc process tracking, no task binding.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=pmix

SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=1,sched_min_interval=100000

# No accounting daemon: finished jobs are kept by scontrol for MinJobAge seconds and
# written, one line each (also one per requeued run), to the jobcomp file.
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/log/jobcomp.txt
MinJobAge=300

ReturnToService=2
KillWait=$KILL_WAIT
InactiveLimit=0
MailProg=/bin/true
SlurmctldTimeout=30
SlurmdTimeout=60
MessageTimeout=10
Waittime=0

# The node may advertise more CPUs than it has (config_overrides), so a 2-core VM runs 4 tasks.
SlurmdParameters=config_overrides
NodeName=$host NodeAddr=127.0.0.1 CPUs=$NODE_CPUS RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    : >"$DIR/etc/plugstack.conf"
}

start_munged() {
    local sock="$DIR/munge/run/munge.socket.2"
    # munged insists: key readable only by its owner; socket dir world-executable (so
    # clients can reach the socket) and not writable by others; state/log dirs private.
    chmod 0755 "$DIR" "$DIR/munge" "$DIR/munge/run"
    chmod 0700 "$DIR/munge/lib"
    if [[ ! -s $DIR/munge/munge.key ]]; then
        (umask 077 && dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none)
    fi
    chmod 0600 "$DIR/munge/munge.key"
    # --force: start even if a parent of DIR looks insecure to munged (e.g. a 0777 CI dir).
    spawn munged /usr/sbin/munged --foreground --force \
        --socket="$sock" \
        --key-file="$DIR/munge/munge.key" \
        --pid-file="$DIR/munge/run/munged.pid" \
        --seed-file="$DIR/munge/lib/munged.seed"
    local i
    for i in $(seq 1 50); do
        if [[ -S $sock ]] && munge -n -S "$sock" | unmunge -S "$sock" >/dev/null 2>&1; then
            return 0
        fi
        live_pid munged >/dev/null || break
        sleep 0.2
    done
    echo "----- $DIR/log/munged.out -----" >&2
    cat "$DIR/log/munged.out" >&2 || true
    do_stop >/dev/null 2>&1 || true
    die "munged did not come up (socket $sock)"
}

do_start() {
    local d pid running=()
    for d in "${DAEMONS[@]}"; do
        if pid=$(live_pid "$d"); then running+=("$d($pid)"); fi
    done
    if ((${#running[@]})); then
        die "a cluster already runs from $DIR: ${running[*]}; run '$PROG stop $DIR' first"
    fi
    command -v slurmctld >/dev/null || [[ -x /usr/sbin/slurmctld ]] ||
        die "slurmctld not found; apt-get install slurm-wlm munge libpmix-dev"
    [[ -x /usr/sbin/munged ]] || die "munged not found; apt-get install munge"
    local port
    for port in "$CTLD_PORT" "$SLURMD_PORT"; do
        if port_busy "$port"; then
            die "TCP port $port is in use; set LOCAL_SLURM_CTLD_PORT / LOCAL_SLURM_SLURMD_PORT"
        fi
    done

    mkdir -p "$DIR"/{etc,run,log,state,spool/slurmd,tmp,munge/run,munge/lib}
    # Fresh job state every start; old jobs would otherwise be recovered and rerun.
    rm -rf "${DIR:?}/state" "${DIR:?}/spool/slurmd" "${DIR:?}/log/prev"
    mkdir -p "$DIR/state" "$DIR/spool/slurmd" "$DIR/log/prev"
    # Keep the previous run's logs (and jobcomp) in log/prev; start each run with empty ones.
    find "$DIR/log" -maxdepth 1 -type f -exec mv -f {} "$DIR/log/prev/" \;
    : >"$DIR/log/jobcomp.txt"
    rm -f "$DIR"/run/*.pid
    chmod 1777 "$DIR/tmp"
    write_config

    start_munged
    export SLURM_CONF=$CONF
    spawn slurmctld /usr/sbin/slurmctld -D -c -f "$CONF"
    spawn slurmd /usr/sbin/slurmd -D -f "$CONF"

    {
        echo "# Source me: point the Slurm client commands at the local cluster in $DIR."
        printf 'export SLURM_CONF=%q\n' "$CONF"
        printf 'export LOCAL_SLURM_DIR=%q\n' "$DIR"
    } >"$DIR/env.sh"

    local host state="" deadline=$((SECONDS + START_TIMEOUT))
    host=$(hostname -s)
    while ((SECONDS < deadline)); do
        for d in slurmctld slurmd; do
            if ! live_pid "$d" >/dev/null; then
                log_tails
                do_stop >/dev/null 2>&1 || true
                die "$d exited during start-up; logs above and in $DIR/log"
            fi
        done
        state=$(sinfo -h -n "$host" -o %T 2>/dev/null || true)
        if [[ $state == idle ]]; then
            if grep -q 'can not load PMIx library' "$DIR/log/slurmd.log" 2>/dev/null; then
                grep -i pmix "$DIR/log/slurmd.log" | tail -n 5 >&2
                do_stop >/dev/null 2>&1 || true
                die "slurmd cannot load the PMIx library, so srun --mpi=pmix would fail;" \
                    "apt-get install libpmix-dev (Debian's plugin loads the unversioned libpmix.so)"
            fi
            echo "Slurm cluster up: node $host idle ($NODE_CPUS CPUs), ctld port $CTLD_PORT, slurmd port $SLURMD_PORT"
            echo "  config : $CONF"
            echo "  logs   : $DIR/log/slurmctld.log $DIR/log/slurmd.log $DIR/log/munged.out"
            echo "  jobcomp: $DIR/log/jobcomp.txt"
            echo "  clients: source $DIR/env.sh"
            return 0
        fi
        sleep 0.5
    done
    log_tails
    do_stop >/dev/null 2>&1 || true
    die "node $host not idle after ${START_TIMEOUT}s (last sinfo state: '${state:-none}'); logs above and in $DIR/log"
}

# Sends TERM to $2 (daemon $1), waits up to 15 s, then KILL.
stop_pid() {
    local name=$1 pid=$2 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 1 75); do
        kill -0 "$pid" 2>/dev/null || { echo "stopped $name ($pid)"; return 0; }
        sleep 0.2
    done
    echo "$name ($pid) ignored SIGTERM for 15 s; sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    for i in $(seq 1 25); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.2
    done
    echo "$PROG: warning: $name ($pid) still alive" >&2
}

do_stop() {
    local d pid jobs i
    if pid=$(live_pid slurmctld) && [[ -f $CONF ]]; then
        # Cancel what is left so no job step outlives its slurmd.
        jobs=$(SLURM_CONF=$CONF squeue -h -o %i 2>/dev/null || true)
        if [[ -n $jobs ]]; then
            # shellcheck disable=SC2086 # one id per word
            SLURM_CONF=$CONF scancel $jobs 2>/dev/null || true
            for ((i = 0; i < KILL_WAIT * 5 + 25; i++)); do
                [[ -z $(stepd_pids) ]] && break
                sleep 0.2
            done
        fi
    fi
    for d in slurmd slurmctld munged; do
        if pid=$(live_pid "$d"); then stop_pid "$d" "$pid"; fi
        rm -f "$DIR/run/$d.pid"
    done
    for pid in $(stepd_pids); do
        stop_pid slurmstepd "$pid"
    done
    echo "local Slurm cluster in $DIR stopped (logs kept in $DIR/log)"
}

do_status() {
    local d pid up=0
    for d in "${DAEMONS[@]}"; do
        if pid=$(live_pid "$d"); then
            echo "$d: running (pid $pid)"
            up=$((up + 1))
        else
            echo "$d: stopped"
        fi
    done
    if live_pid slurmctld >/dev/null; then
        SLURM_CONF=$CONF sinfo 2>&1 || true
    fi
    ((up == ${#DAEMONS[@]}))
}

(($# == 2)) || usage
CMD=$1
case $2 in
    /*) DIR=$2 ;;
    *) DIR=$PWD/$2 ;;
esac
DIR=${DIR%/}
CONF=$DIR/etc/slurm.conf

case $CMD in
    start) do_start ;;
    stop)
        [[ -d $DIR ]] || { echo "$DIR does not exist; nothing to stop"; exit 0; }
        do_stop
        ;;
    status) do_status ;;
    *) usage ;;
esac

package runtime

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// logDrainWait bounds how long Stop waits for the log pipe to reach EOF
// after the process group is dead; only an escaped child holding the pipe
// could make it wait that long.
const logDrainWait = 2 * time.Second

// procInstance is a server started by the process runtime.
type procInstance struct {
	cmd    *exec.Cmd
	pgid   int
	addr   string
	marker string
	log    *ringLog
	pipe   *os.File
	report StartReport

	done    chan struct{} // closed when the leader has been waited for
	logDone chan struct{} // closed when the log pipe reached EOF

	mu    sync.Mutex
	peak  int64 // highest group RSS sampled
	cpu   float64
	state *os.ProcessState

	stopOnce sync.Once
	stopRep  StopReport
	stopErr  error
}

func newProcInstance(cmd *exec.Cmd, spec Spec, opts StartOptions, log *ringLog, pipe *os.File, marker string) *procInstance {
	host := opts.Host
	if host == "" {
		host = "127.0.0.1"
	}
	inst := &procInstance{
		cmd:     cmd,
		pgid:    cmd.Process.Pid, // Setpgid with Pgid 0: the group is named after the leader
		addr:    net.JoinHostPort(host, strconv.Itoa(opts.Port)),
		marker:  marker,
		log:     log,
		pipe:    pipe,
		done:    make(chan struct{}),
		logDone: make(chan struct{}),
	}
	go func() {
		defer close(inst.logDone)
		buf := make([]byte, 32<<10)
		for {
			n, err := pipe.Read(buf)
			log.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	go func() {
		cmd.Wait()
		inst.mu.Lock()
		inst.state = cmd.ProcessState
		inst.mu.Unlock()
		close(inst.done)
	}()
	return inst
}

func (p *procInstance) Addr() string                { return p.addr }
func (p *procInstance) Done() <-chan struct{}       { return p.done }
func (p *procInstance) StartReport() StartReport    { return p.report }
func (p *procInstance) LogTail(maxBytes int) string { return p.log.Tail(maxBytes) }

// ExitStatus returns the leader's exit status once it has exited.
func (p *procInstance) ExitStatus() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state == nil {
		return ""
	}
	return p.state.String()
}

// Sample sums CPU time and RSS over the process group from /proc while the
// server runs, and returns the figures from the leader's rusage after exit.
func (p *procInstance) Sample(ctx context.Context) (Stats, error) {
	select {
	case <-p.done:
		return p.final(), nil
	default:
	}
	pids, err := listPids()
	if err != nil {
		return Stats{}, fmt.Errorf("runtime: sample: %w", err)
	}
	var ticks uint64
	var rss int64
	for _, pid := range pids {
		st, err := readProcStat(pid)
		if err != nil || st.pgrp != p.pgid {
			continue
		}
		ticks += st.cpuTicks
		rss += st.rssPages * int64(os.Getpagesize())
	}
	hwm, _ := vmHWM(p.pgid)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cpu = max(p.cpu, float64(ticks)/userHZ)
	p.peak = max(p.peak, rss, hwm)
	return Stats{CPUSeconds: p.cpu, MemoryBytes: rss, PeakMemoryBytes: p.peak, Source: "proc"}, nil
}

// final returns the resource use at exit: the leader's rusage (which
// includes the children it waited for) combined with the last samples.
func (p *procInstance) final() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Stats{CPUSeconds: p.cpu, PeakMemoryBytes: p.peak, Source: "rusage"}
	if ru, ok := p.state.SysUsage().(*syscall.Rusage); ok {
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
		s.CPUSeconds = max(s.CPUSeconds, cpu)
		s.PeakMemoryBytes = max(s.PeakMemoryBytes, ru.Maxrss<<10) // Linux reports kilobytes
	}
	return s
}

// Stop sends SIGTERM to the process group, SIGKILL after grace, kills
// marked children that left the group, and closes the log.
func (p *procInstance) Stop(ctx context.Context, grace time.Duration) (StopReport, error) {
	p.stopOnce.Do(func() { p.stopRep, p.stopErr = p.stop(ctx, grace) })
	return p.stopRep, p.stopErr
}

func (p *procInstance) stop(ctx context.Context, grace time.Duration) (StopReport, error) {
	t0 := time.Now()
	var rep StopReport
	select {
	case <-p.done:
		rep.ExitedBefore = true
	default:
		unix.Kill(-p.pgid, unix.SIGTERM)
		timer := time.NewTimer(grace)
		select {
		case <-p.done:
		case <-timer.C:
		case <-ctx.Done():
		}
		timer.Stop()
		select {
		case <-p.done:
		default:
			rep.Killed = true
			unix.Kill(-p.pgid, unix.SIGKILL)
			<-p.done // SIGKILL cannot be ignored; the wait is short
		}
		rep.Exit = time.Since(t0)
	}
	// Members of the group may outlive the leader; then children that
	// left the group but carry the instance's marker.
	unix.Kill(-p.pgid, unix.SIGKILL)
	rep.Swept = p.sweep()
	timer := time.NewTimer(logDrainWait)
	select {
	case <-p.logDone:
	case <-timer.C:
		p.pipe.Close() // unblocks the reader; output after this is lost
		<-p.logDone
	}
	timer.Stop()
	p.pipe.Close()
	var err error
	rep.Log, err = p.log.Close()
	rep.ExitStatus = p.ExitStatus()
	rep.Final = p.final()
	rep.Total = time.Since(t0)
	return rep, err
}

// sweep kills processes carrying this instance's marker outside its group.
func (p *procInstance) sweep() []string {
	pids, err := listPids()
	if err != nil {
		return nil
	}
	var swept []string
	for _, pid := range pids {
		if v, ok := processEnv(pid, ownerEnv); !ok || v != p.marker {
			continue
		}
		if st, err := readProcStat(pid); err == nil && st.pgrp == p.pgid {
			continue // already sent SIGKILL with the group; it is dying
		}
		if unix.Kill(pid, unix.SIGKILL) == nil {
			swept = append(swept, fmt.Sprintf("process %d (%s) outside the server's process group", pid, commName(pid)))
		}
	}
	return swept
}

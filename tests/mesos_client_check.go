// mesos_client_check.go: drive the emulated Mesos master with mesos-go
// (Debian's golang-github-mesos-mesos-go-dev, 0.0.6), a client nobody here
// wrote.  What of it speaks the JSON endpoints the emulator has: the v0
// standalone master detector, which polls GET /state and parses the leader
// UPID (master@IP:PORT) into a MasterInfo, and upid.Parse, which checks the
// "slave(1)@IP:PORT" pids of /master/slaves.  (The v1 library speaks the
// /api/v1 operator protocol, which the emulator does not have.)
//
// Usage: mesos_client_check MASTER_URL   (http://127.0.0.1:PORT)
// Prints "ok - ..." lines; exits 1 at the first failure.
//
// Build (GOPATH mode, the Debian layout):
//   GO111MODULE=off GOPATH=/usr/share/gocode go build -o X tests/mesos_client_check.go
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mesos/mesos-go/api/v0/detector"
	mesos "github.com/mesos/mesos-go/api/v0/mesosproto"
	"github.com/mesos/mesos-go/api/v0/upid"
)

type changes chan *mesos.MasterInfo

func (c changes) OnMasterChanged(mi *mesos.MasterInfo) { c <- mi }

func fail(format string, args ...interface{}) {
	fmt.Printf("not ok - "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	// glog: never write log files into the temporary directory
	flag.Set("logtostderr", "true")
	flag.Set("stderrthreshold", "FATAL")
	if len(os.Args) != 2 {
		fail("usage: mesos_client_check http://HOST:PORT")
	}
	master := strings.TrimSuffix(os.Args[1], "/")
	hostport := strings.TrimPrefix(master, "http://")
	host, portText, err := net.SplitHostPort(hostport)
	if err != nil {
		fail("bad master URL %s: %v", master, err)
	}
	port, _ := strconv.Atoi(portText)

	// 1. The standalone detector finds the leader through GET /state.
	d, err := detector.New(hostport)
	if err != nil {
		fail("detector.New(%s): %v", hostport, err)
	}
	ch := make(changes, 4)
	if err := d.Detect(ch); err != nil {
		fail("Detect: %v", err)
	}
	var mi *mesos.MasterInfo
	select {
	case mi = <-ch:
	case <-time.After(15 * time.Second):
		fail("the detector reported no leader within 15 s")
	}
	if mi == nil {
		fail("the detector reported no leader (nil MasterInfo)")
	}
	wantPid := fmt.Sprintf("master@%s:%d", host, port)
	if mi.GetPid() != wantPid || mi.GetHostname() != host || int(mi.GetPort()) != port {
		fail("detected leader pid=%q hostname=%q port=%d, want %s", mi.GetPid(), mi.GetHostname(), mi.GetPort(), wantPid)
	}
	// (MasterInfo.ip is not checked: mesos-go 0.0.6 packs the first four
	// bytes of the 16-byte net.IP form, so it is 0.0.0.0 for any master.)
	fmt.Printf("ok - mesos-go standalone detector: leader %s (id %s, hostname %s, port %d)\n",
		mi.GetPid(), mi.GetId(), mi.GetHostname(), mi.GetPort())
	d.Cancel()

	// 2. Every agent pid of /master/slaves is a UPID slave(1)@IP:PORT.
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(master + "/master/slaves")
	if err != nil {
		fail("GET /master/slaves: %v", err)
	}
	defer resp.Body.Close()
	var slaves struct {
		Slaves []struct {
			ID       string `json:"id"`
			Pid      string `json:"pid"`
			Hostname string `json:"hostname"`
			Port     int    `json:"port"`
			Active   bool   `json:"active"`
		} `json:"slaves"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&slaves); err != nil {
		fail("decoding /master/slaves: %v", err)
	}
	if len(slaves.Slaves) == 0 {
		fail("/master/slaves lists no agent")
	}
	for _, s := range slaves.Slaves {
		u, err := upid.Parse(s.Pid)
		if err != nil {
			fail("upid.Parse(%q): %v", s.Pid, err)
		}
		if u.ID != "slave(1)" || u.Port != strconv.Itoa(s.Port) || net.ParseIP(u.Host) == nil {
			fail("agent %s: pid %q parses as id=%q host=%q port=%q (port field %d)", s.ID, s.Pid, u.ID, u.Host, u.Port, s.Port)
		}
		fmt.Printf("ok - upid.Parse(%s): id %s host %s port %s (agent %s)\n", s.Pid, u.ID, u.Host, u.Port, s.Hostname)
	}
}

// Command hello is the runtime tests' server: it answers every request with
// "hello" on the port in PORT, and can misbehave on request.
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"syscall"
	"time"
)

func main() {
	exit := flag.Int("exit", -1, "print a fatal message and exit with this status at once")
	noise := flag.Int("noise", 0, "write this many bytes to stdout before serving")
	nolisten := flag.Bool("nolisten", false, "run without ever listening (a server stuck before bind)")
	flag.Parse()
	if *nolisten {
		fmt.Println("hello: stuck before listening")
		for {
			time.Sleep(time.Hour)
		}
	}
	if *exit >= 0 {
		fmt.Fprintln(os.Stderr, "hello: fatal: bad configuration, exiting")
		os.Exit(*exit)
	}
	if *noise > 0 {
		line := strings.Repeat("n", 99) + "\n"
		for n := 0; n < *noise; n += len(line) {
			os.Stdout.WriteString(line)
		}
		fmt.Println("hello: noise done")
	}
	fmt.Println("hello: listening on port", os.Getenv("PORT"))
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello")
	})
	mux.HandleFunc("/tmp", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, describeTmp())
	})
	var err error
	if cert := os.Getenv("TLS_CERT"); cert != "" {
		err = http.ListenAndServeTLS(":"+os.Getenv("PORT"), cert, os.Getenv("TLS_KEY"), mux)
	} else {
		err = http.ListenAndServe(":"+os.Getenv("PORT"), mux)
	}
	fmt.Fprintln(os.Stderr, "hello:", err)
	os.Exit(1)
}

// describeTmp says what /tmp is: "tmpfs writable" when it is a tmpfs this
// process can write to.
func describeTmp() string {
	var st syscall.Statfs_t
	if err := syscall.Statfs("/tmp", &st); err != nil {
		return "statfs: " + err.Error()
	}
	kind := "not tmpfs"
	if st.Type == 0x01021994 { // TMPFS_MAGIC, linux/magic.h
		kind = "tmpfs"
	}
	f, err := os.CreateTemp("/tmp", "probe")
	if err != nil {
		return kind + " not writable: " + err.Error()
	}
	f.Close()
	os.Remove(f.Name())
	return kind + " writable"
}

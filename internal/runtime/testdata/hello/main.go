// Command hello is the runtime tests' server: it answers every request with
// "hello" on the port in PORT, and can misbehave on request.
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
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
	err := http.ListenAndServe(":"+os.Getenv("PORT"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello")
	}))
	fmt.Fprintln(os.Stderr, "hello:", err)
	os.Exit(1)
}

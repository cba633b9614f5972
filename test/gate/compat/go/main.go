// The compatibility suite's Go net/http service (built and run only where a Go toolchain is on
// PATH): ServeContent (Range, ETag, 304), 103 Early Hints from WriteHeader, a flushed chunked
// answer with a pause, trailers, Server-Sent Events, a redirect and cookies. It prints its port.
package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

func main() {
	data := make([]byte, 1<<20)
	for i := range data {
		data[i] = byte(i * 7)
	}
	modified := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	mux := http.NewServeMux()
	mux.HandleFunc("/file", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"go-file-v1"`)
		http.ServeContent(w, r, "data.bin", modified, bytes.NewReader(data))
	})
	mux.HandleFunc("/early-hints", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Link", "</app.css>; rel=preload; as=style")
		w.WriteHeader(http.StatusEarlyHints)
		time.Sleep(30 * time.Millisecond)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		fmt.Fprint(w, "<!doctype html><title>go</title><p>hinted</p>\n")
	})
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, "first line\n")
		w.(http.Flusher).Flush()
		time.Sleep(time.Second)
		fmt.Fprint(w, "the rest, a second later\n")
	})
	mux.HandleFunc("/trailers", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Checksum")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, "part one\n")
		w.(http.Flusher).Flush()
		fmt.Fprint(w, "part two\n")
		w.Header().Set("X-Checksum", "sha256=abc123")
	})
	mux.HandleFunc("/sse", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		fmt.Fprint(w, "retry: 300\nid: 1\ndata: hello\n\n")
		w.(http.Flusher).Flush()
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for n := 2; ; n++ {
			select {
			case <-r.Context().Done():
				return
			case <-tick.C:
				fmt.Fprintf(w, "id: %d\ndata: tick %d\n\n", n, n)
				w.(http.Flusher).Flush()
			}
		}
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/file", http.StatusFound)
	})
	mux.HandleFunc("/cookies", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "3f9a2c", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
		http.SetCookie(w, &http.Cookie{Name: "theme", Value: "dark", Path: "/", MaxAge: 3600})
		http.SetCookie(w, &http.Cookie{Name: "consent", Value: "yes", Path: "/"})
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"ok":true}`)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("port %d\n", ln.Addr().(*net.TCPAddr).Port)
	http.Serve(ln, mux)
}

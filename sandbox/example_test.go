package sandbox_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/capstat/capstat/sandbox"
)

func ExampleNew() {
	srv, err := sandbox.New(sandbox.Options{Seed: 1, Scale: sandbox.Tiny, Instances: []string{"gironde"}})
	if err != nil {
		panic(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/gironde/graphql",
		strings.NewReader(`{"query":"{ projects(first: 1) { totalCount } }"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", sandbox.PreviewAccept)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	fmt.Println(res.StatusCode, string(body))
	// Output: 200 {"data":{"projects":{"totalCount":3}}}
}

func ExampleGroundTruth() {
	truth := sandbox.GroundTruth(1, sandbox.Tiny)
	c := truth["gironde"]
	fmt.Println(len(truth), c["projects"], c["steps"], c["districts"])
	// Output: 9 3 14 3
}

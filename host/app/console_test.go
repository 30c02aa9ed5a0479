package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/switchboard-dev/switchboard/host/genesys/sim"
	"github.com/switchboard-dev/switchboard/host/internal/testutil"
)

// The operator console in a real Chromium (Debian's, driven over the
// DevTools protocol by chromedp), against a real host with real plugin
// processes and the Genesys Cloud simulator. With SWITCHBOARD_SCREENSHOTS
// set to a directory, it saves a screenshot of each view there.

const chromium = "/usr/bin/chromium"

// browser starts a headless Chromium for the test, or skips the test when
// there is none and this is not CI (which installs it: .ci/run).
func browser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set and %s is missing: .ci/run installs Debian's chromium", chromium)
		}
		t.Skipf("%s is missing (apt-get install chromium): the console's browser tests skip", chromium)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox, // the tests run as root in CI
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 800),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("lang", "en-GB"),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() { cancelTime(); cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("starting %s: %v", chromium, err)
	}
	return ctx
}

// pageWatch records what a page does that the tests judge: console
// errors, exceptions, log entries, and every URL it requests.
type pageWatch struct {
	mu       sync.Mutex
	problems []string
	urls     []string
}

func watchPage(t *testing.T, ctx context.Context) *pageWatch {
	w := &pageWatch{}
	err := chromedp.Listen(ctx, func(ev any) {
		w.mu.Lock()
		defer w.mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning || e.Type == runtime.ConsoleAPICalledTypeAssert {
				var args []string
				for _, a := range e.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				w.problems = append(w.problems, fmt.Sprintf("console.%s: %s", e.Type, strings.Join(args, " ")))
			}
		case *runtime.EventExceptionThrown:
			msg := e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				msg += " " + e.ExceptionDetails.Exception.Description
			}
			w.problems = append(w.problems, "exception: "+msg)
		case *log.EventEntryAdded:
			if e.Entry.Level == log.EntryLevelError || e.Entry.Level == log.EntryLevelWarning {
				w.problems = append(w.problems, fmt.Sprintf("log %s (%s): %s %s", e.Entry.Level, e.Entry.Source, e.Entry.Text, e.Entry.URL))
			}
		case *network.EventRequestWillBeSent:
			w.urls = append(w.urls, e.Request.URL)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *pageWatch) snapshot() (problems, urls []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.problems...), append([]string(nil), w.urls...)
}

// waitFor polls a JavaScript condition in the page.
func waitFor(t *testing.T, ctx context.Context, within time.Duration, what, expr string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s (%s)", within, what, expr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func evalJS[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// screenshot saves the viewport as dir/name.png when SWITCHBOARD_SCREENSHOTS names dir.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("SWITCHBOARD_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestConsoleInBrowser(t *testing.T) {
	ctx := browser(t)
	h := startHost(t, withSim(sim.Options{}), withAudit())
	users := sim.DefaultUsers()
	w := watchPage(t, ctx)
	console := h.URL + "/admin/console?refresh=500"
	if err := chromedp.Do(ctx, chromedp.Navigate(console),
		chromedp.WaitReady(chromedp.CSS(`body[data-loaded="true"]`))); err != nil {
		t.Fatal(err)
	}

	// Plugins: every running plugin, with its state and PID.
	plugins := h.views(t)
	got := evalJS[[]string](t, ctx, `[...document.querySelectorAll("#plugins .plugin")].map(e => e.dataset.plugin).sort()`)
	if strings.Join(got, ",") != "echo,genesys-users,testplugin" {
		t.Fatalf("the Plugins view lists %v, want echo, genesys-users, testplugin", got)
	}
	if pid := evalJS[string](t, ctx, `document.querySelector('.plugin[data-plugin="echo"] .pid').textContent`); pid != fmt.Sprint(plugins["echo"].PID) {
		t.Errorf("echo's PID on the page is %q, the host says %d", pid, plugins["echo"].PID)
	}
	if s := evalJS[string](t, ctx, `document.querySelector('.plugin[data-plugin="echo"] .badge').textContent`); s != "serving" {
		t.Errorf("echo's state on the page is %q", s)
	}
	if links := evalJS[string](t, ctx, `document.querySelector('.plugin[data-plugin="genesys-users"] a[href="#actions/fetchUserProfile"]').parentElement.textContent`); links != "fetchUserProfile" {
		t.Errorf("genesys-users' actions on the page: %q", links)
	}
	screenshot(t, ctx, "plugins")

	// Actions: listed; echo's request chart is flat until traffic comes.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#nav a[data-view="actions"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#action-echo`))); err != nil {
		t.Fatal(err)
	}
	actions := evalJS[[]string](t, ctx, `[...document.querySelectorAll("#actions .action")].map(e => e.dataset.action).sort()`)
	if !slices.Contains(actions, "echo") || !slices.Contains(actions, "fetchUserProfile") || len(actions) != len(h.Registry.Current().Actions()) {
		t.Fatalf("the Actions view lists %v", actions)
	}
	// The filter keeps the actions whose name or plugin matches.
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`#action-filter`), "genesys")); err != nil {
		t.Fatal(err)
	}
	visible := `[...document.querySelectorAll("#actions .action")].filter(e => !e.hidden).map(e => e.dataset.action)`
	waitFor(t, ctx, 10*time.Second, "the filter leaves fetchUserProfile", visible+`.join() === "fetchUserProfile"`)
	clearFilter := `(f => { f.value = ""; f.dispatchEvent(new Event("input")); return true })(document.getElementById("action-filter"))`
	evalJS[bool](t, ctx, clearFilter) // chromedp.Clear sets the attribute, not what was typed
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`#action-filter`), "ech")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, 10*time.Second, "the filter leaves echo", visible+`.join() === "echo"`)
	evalJS[bool](t, ctx, clearFilter)
	waitFor(t, ctx, 10*time.Second, "an empty filter shows every action", visible+fmt.Sprintf(`.length === %d`, len(actions)))

	echoPoints := `Number(document.querySelector('#action-echo .chart path.line').dataset.points)`
	if n := evalJS[float64](t, ctx, echoPoints); n != 0 {
		t.Fatalf("echo's request chart has %v points before any request", n)
	}
	for i := range 12 {
		if a := h.post(t, "/actions/echo", fmt.Sprintf(`{"message":"m%d"}`, i)); a.status != 200 {
			t.Fatalf("echo: %d %s", a.status, a.body)
		}
	}
	if a := h.post(t, "/actions/echo", `{"message":5}`); a.status != 400 {
		t.Fatalf("a bad echo: %d", a.status)
	}
	// Failures of other kinds, for the Recent failures view.
	if a := h.post(t, "/actions/fetchUserProfile", `{"userId":"no-such-user"}`); a.status != 404 {
		t.Fatalf("fetchUserProfile of an unknown user: %d %s", a.status, a.body)
	}
	if a := h.post(t, "/actions/badOutput", `{}`); a.status != 502 {
		t.Fatalf("badOutput: %d %s", a.status, a.body)
	}
	waitFor(t, ctx, 10*time.Second, "echo's request chart draws the traffic", echoPoints+` >= 1`)
	d := evalJS[string](t, ctx, `document.querySelector('#action-echo .chart path.line').getAttribute("d")`)
	if strings.Count(d, "L") != 89 || !strings.Contains(d, " 2.0") { // 90 points; the peak at the top
		t.Errorf("echo's request chart path: %s", d)
	}
	waitFor(t, ctx, 10*time.Second, "echo's error ratio shows the failure", `document.querySelectorAll('#action-echo .chart .value')[1].textContent !== "0%"`)
	evalJS[bool](t, ctx, `document.getElementById("action-echo").scrollIntoView(), true`)
	screenshot(t, ctx, "actions")

	// Reload restarts the plugin: a new process, on the page and in /admin/plugins.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#nav a[data-view="plugins"]`)),
		chromedp.Click(chromedp.CSS(`button.reload[data-plugin="echo"]`))); err != nil {
		t.Fatal(err)
	}
	old := plugins["echo"].PID
	eventually(t, 10*time.Second, "echo restarted with a new PID", func() bool {
		v := h.views(t)["echo"]
		return v.PID != 0 && v.PID != old && v.State == "serving"
	})
	newPID := h.views(t)["echo"].PID
	waitFor(t, ctx, 10*time.Second, "the page shows echo's new PID", fmt.Sprintf(`document.querySelector('.plugin[data-plugin="echo"] .pid').textContent === "%d"`, newPID))

	// Try echo: the input comes from the schema, each stage is shown, and
	// the body Genesys would get.
	if err := chromedp.Do(ctx, chromedp.Navigate(console+"#try/echo"), chromedp.WaitReady(chromedp.CSS(`body[data-loaded="true"]`))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, 10*time.Second, "the Try view selects echo", `document.getElementById("try-action").value === "echo"`)
	var input map[string]any
	if err := json.Unmarshal([]byte(evalJS[string](t, ctx, `document.getElementById("try-body").value`)), &input); err != nil || input["message"] == nil {
		t.Fatalf("echo's example input: %v %v", input, err)
	}
	run := func(action string) (stages []string, answer string) {
		t.Helper()
		evalJS[bool](t, ctx, `document.getElementById("try-answer").textContent = "", true`)
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#try-run`))); err != nil {
			t.Fatal(err)
		}
		waitFor(t, ctx, 10*time.Second, action+" ran", `document.getElementById("try-answer").textContent !== ""`)
		stages = evalJS[[]string](t, ctx, `[...document.querySelectorAll("#try-stage-table tr[data-stage]")].map(r => r.dataset.stage + " " + r.querySelector(".ms").textContent)`)
		return stages, evalJS[string](t, ctx, `document.getElementById("try-answer").textContent`)
	}
	stages, answer := run("echo")
	if len(stages) != 4 || !strings.HasPrefix(stages[2], "invoke ") || !strings.HasSuffix(stages[2], " ms") {
		t.Errorf("echo's stages: %q", stages)
	}
	var body map[string]any
	if json.Unmarshal([]byte(answer), &body); body["message"] != input["message"] {
		t.Errorf("echo's answer %s, want its input %v", answer, input)
	}
	screenshot(t, ctx, "try")

	// Try fetchUserProfile, against the simulator.
	hits := h.sim.hits.Load()
	if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS(`#try-action`), "fetchUserProfile")); err != nil {
		t.Fatal(err)
	}
	evalJS[bool](t, ctx, `document.getElementById("try-action").dispatchEvent(new Event("change"))`)
	if v := evalJS[string](t, ctx, `document.getElementById("try-body").value`); !strings.Contains(v, `"userId"`) {
		t.Fatalf("fetchUserProfile's example input: %s", v)
	}
	if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS(`#try-body`), `{"userId": "`+users[0].ID+`"}`)); err != nil {
		t.Fatal(err)
	}
	stages, answer = run("fetchUserProfile")
	if json.Unmarshal([]byte(answer), &body); body["name"] != users[0].Name || len(stages) != 4 || h.sim.hits.Load() == hits {
		t.Errorf("fetchUserProfile: %s, stages %q, simulator hits %d → %d", answer, stages, hits, h.sim.hits.Load())
	}
	screenshot(t, ctx, "try-fetchUserProfile")

	// Connections: the token fetched for that call, never the token itself.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#nav a[data-view="connections"]`))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, 10*time.Second, "the genesys connection shows a valid token and a 200",
		`(r => r && r.textContent.includes("valid") && r.querySelector(".statuses .badge.ok") !== null)(document.querySelector('tr[data-connection="genesys"]'))`)
	page := evalJS[string](t, ctx, `document.body.innerText`)
	for _, tok := range h.sim.seenTokens() {
		if strings.Contains(page, tok) {
			t.Fatalf("the page shows a bearer token")
		}
	}
	screenshot(t, ctx, "connections")

	// Recent failures: the bad echo, linked to its action.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#nav a[data-view="failures"]`))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, 10*time.Second, "the failure is listed", `document.querySelector('#failures-table a[href="#actions/echo"]') !== null`)
	rows := evalJS[[]string](t, ctx, `[...document.querySelectorAll('#failures-table tbody tr')].map(r => r.innerText.replace(/\s+/g, " "))`)
	if len(rows) != 3 || !strings.Contains(rows[2], "echo 400 invalid_input validate input") ||
		!strings.Contains(rows[1], "fetchUserProfile 404 user_not_found invoke") || !strings.Contains(rows[0], "badOutput 502 invalid_output validate output") {
		t.Errorf("the failure rows, newest first: %q", rows)
	}
	screenshot(t, ctx, "failures")

	problems, urls := w.snapshot()
	for _, p := range problems {
		t.Errorf("the page reported: %s", p)
	}
	if len(urls) < 5 {
		t.Errorf("the page made %d requests: %v", len(urls), urls)
	}
	for _, u := range urls {
		if !strings.HasPrefix(u, h.URL+"/") && !strings.HasPrefix(u, "data:") {
			t.Errorf("the page requested %s, outside the host", u)
		}
	}

	// A page of another origin (another port of 127.0.0.1) cannot run an
	// action through the console: its simple POST is refused with 403, its
	// JSON POST never leaves the browser (no CORS preflight is granted).
	before := echoRequests(t, h)
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!DOCTYPE html><title>evil</title><script>
const u = %q;
Promise.allSettled([
  fetch(u, {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"}, body: '{"input":{"message":"x"}}'}),
  fetch(u, {method: "POST", headers: {"Content-Type": "application/json"}, body: '{"input":{"message":"x"}}'}),
]).then(r => { document.title = r.map(x => x.status).join(","); });
</script>`, h.URL+"/admin/actions/echo/try")
	}))
	defer evil.Close()
	if err := chromedp.Do(ctx, chromedp.Navigate(evil.URL)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, 10*time.Second, "the other origin's requests settled", `document.title.includes(",")`)
	if title := evalJS[string](t, ctx, `document.title`); title != "fulfilled,rejected" {
		t.Errorf("the other origin's fetches: %s, want the opaque no-cors one answered and the JSON one refused", title)
	}
	refused := 0
	for _, recs := range testutil.AuditByID(t, h.auditPath) {
		for _, r := range recs {
			if r.Code == "cross_origin_refused" && r.Status == 403 {
				refused++
			}
		}
	}
	if refused != 1 {
		t.Errorf("%d cross-origin refusals in the audit log, want 1 (the no-cors POST)", refused)
	}
	// And directly, with the Origin header a browser sends.
	if a := h.send(t, "POST", "/admin/actions/echo/try", `{"input":{"message":"x"}}`, map[string]string{"Origin": evil.URL}); a.status != 403 {
		t.Errorf("a try with a foreign Origin: %d", a.status)
	}
	if after := echoRequests(t, h); after != before {
		t.Errorf("echo ran %v times from another origin", after-before)
	}
}

// echoRequests is echo's request count in GET /admin/actions.
func echoRequests(t *testing.T, h *testHost) float64 {
	t.Helper()
	a := h.send(t, "GET", "/admin/actions", "", nil)
	var body struct {
		Actions []struct {
			Name  string
			Stats struct{ Requests float64 }
		}
	}
	if err := json.Unmarshal(a.body, &body); err != nil {
		t.Fatalf("/admin/actions: %v: %s", err, a.body)
	}
	for _, x := range body.Actions {
		if x.Name == "echo" {
			return x.Stats.Requests
		}
	}
	t.Fatalf("/admin/actions has no echo: %s", a.body)
	return 0
}

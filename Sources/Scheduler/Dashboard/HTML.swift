import Foundation
import Shared

/// Small helpers to write HTML by hand: escaping, and the page around every dashboard view.
enum HTML {
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    /// A path segment for a link.
    static func segment(_ text: String) -> String { escape(ArtifactLocator.encode(text)) }

    static let timeFormatter: DateFormatter = {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter
    }()

    static func time(_ date: Date?) -> String {
        date.map { timeFormatter.string(from: $0) + " UTC" } ?? "—"
    }

    /// How long from `start` to `end` (to `now` while it runs), as `4 s`, `2 min 5 s`, `1 h 3 min`;
    /// `—` before it starts.
    static func duration(from start: Date?, to end: Date?, now: Date = Date()) -> String {
        guard let start else { return "—" }
        let seconds = max(0, Int((end ?? now).timeIntervalSince(start).rounded()))
        let text = seconds < 60 ? "\(seconds) s"
            : seconds < 3600 ? "\(seconds / 60) min\(seconds % 60 == 0 ? "" : " \(seconds % 60) s")"
            : "\(seconds / 3600) h\(seconds % 3600 / 60 == 0 ? "" : " \(seconds % 3600 / 60) min")"
        return end == nil ? text + " so far" : text
    }

    /// How long ago `date` was, in words (`just now`, `5 min ago`, `3 h ago`, `2 days ago`).
    static func ago(_ date: Date?, now: Date = Date()) -> String {
        guard let date else { return "—" }
        let seconds = Int(now.timeIntervalSince(date))
        switch seconds {
        case ..<10: return "just now"
        case ..<60: return "\(seconds) s ago"
        case ..<3600: return "\(seconds / 60) min ago"
        case ..<86400: return "\(seconds / 3600) h ago"
        default: return "\(seconds / 86400) day\(seconds / 86400 == 1 ? "" : "s") ago"
        }
    }

    /// The whole page: navigation, the view (refreshed in place every `refresh` seconds by
    /// fetching `?fragment=1`), and an optional extra element outside the refreshed part. With
    /// `signOut`, the header has a sign-out button (a server with API tokens).
    static func page(title: String, active: String, content: String, extra: String = "", refresh: Double? = 2,
                     signOut: Bool = false) -> String {
        let nav = [("Pipelines", "/"), ("Agents", "/agents"), ("Queues", "/queues")].map { name, href in
            "<a href=\"\(href)\"\(name == active ? " class=\"active\"" : "")>\(name)</a>"
        }.joined()
        let script = refresh.map { seconds in
            """
            <script>
            setInterval(async () => {
              try {
                const url = new URL(location.href); url.searchParams.set('fragment', '1');
                const reply = await fetch(url, {cache: 'no-store'});
                if (reply.ok) document.getElementById('view').innerHTML = await reply.text();
              } catch (e) {}
            }, \(Int(seconds * 1000)));
            </script>
            """
        } ?? ""
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(title)) · Relevo</title><style>\(style)</style></head>
            <body><header><span class="brand">Relevo</span><nav>\(nav)</nav>\(signOut ? #"<form method="post" action="/logout" class="signout"><button type="submit">Sign out</button></form>"# : "")</header>
            <main><div id="view">\(content)</div>\(extra)</main>
            \(actionScript)\(script)
            </body></html>
            """
    }

    /// Buttons with `data-post="/go/api/..."` send that POST and show the answer. With
    /// `data-prompt="field"` the button first asks for a comma-separated list (starting from
    /// `data-value`) and sends `{"field": "<answer>"}`; with `data-variables` it asks for
    /// `NAME=VALUE, …` and sends them as `{"environment_variables": [...]}` (trigger with
    /// options); with `data-confirm` it asks first.
    static let actionScript = """
        <script>
        document.addEventListener('click', async (event) => {
          const button = event.target.closest('[data-post]');
          if (!button) return;
          event.preventDefault();
          let body = button.dataset.body || '{}';
          if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
          if (button.dataset.variables !== undefined) {
            const answer = window.prompt(button.title, button.dataset.variables);
            if (answer === null) return;
            const variables = answer.split(',').map(pair => pair.trim()).filter(pair => pair).map(pair => {
              const equals = pair.indexOf('=');
              return equals < 0 ? {name: pair, value: ''} : {name: pair.slice(0, equals).trim(), value: pair.slice(equals + 1)};
            });
            body = JSON.stringify({environment_variables: variables});
          }
          if (button.dataset.prompt) {
            const answer = window.prompt(button.title || button.dataset.prompt, button.dataset.value || '');
            if (answer === null) return;
            body = JSON.stringify({[button.dataset.prompt]: answer});
          }
          button.disabled = true;
          const reply = await fetch(button.dataset.post, {method: button.dataset.method || 'POST', headers: {'Content-Type': 'application/json'}, body: body});
          let message = reply.statusText;
          try { message = (await reply.json()).message; } catch (e) {}
          const flash = document.getElementById('flash') || document.body.appendChild(Object.assign(document.createElement('div'), {id: 'flash'}));
          flash.textContent = message; flash.className = reply.ok ? 'ok' : 'error';
          setTimeout(() => { button.disabled = false; }, 800);
        });
        </script>
        """

    static let style = """
        body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f4f5f7;color:#222}
        header{background:#2b2d42;color:#fff;display:flex;align-items:center;padding:0 20px;height:48px}
        .warning{background:#fff3cd;border:1px solid #e0c36a;padding:8px 12px;border-radius:4px}
        .signout{margin-left:auto}.signout button{background:none;border:1px solid #8d99ae;color:#cfd3e6;border-radius:4px;padding:4px 10px;cursor:pointer}
        .brand{font-weight:700;font-size:18px;margin-right:28px;letter-spacing:.5px}
        nav a{color:#cfd3e6;text-decoration:none;margin-right:18px;padding:14px 0}nav a.active{color:#fff;border-bottom:3px solid #8d99ae}
        main{padding:18px 22px;max-width:1200px}
        h1{font-size:20px;margin:4px 0 14px}h2{font-size:16px;margin:22px 0 8px;color:#555;text-transform:uppercase;letter-spacing:.6px}
        a{color:#1d5fb4}
        .pipeline{background:#fff;border-radius:6px;box-shadow:0 1px 2px rgba(0,0,0,.12);padding:10px 14px;margin:0 0 10px}
        .pipeline .head{display:flex;align-items:center;gap:10px}.pipeline .name{font-weight:600;font-size:15px}
        .instance{display:flex;align-items:center;gap:8px;margin:6px 0 0}.instance .label{width:90px;font-size:12px;color:#555}
        .stages{display:flex;gap:3px}
        .stage{display:inline-block;min-width:64px;height:20px;border-radius:3px;font-size:11px;line-height:20px;text-align:center;color:#fff;padding:0 6px;text-decoration:none}
        .passed{background:#3c9a5f}.failed{background:#d64545}.building{background:#e0a526;animation:pulse 1.2s infinite}
        .cancelled{background:#6b6b6b}.pending{background:#c9ccd4;color:#444}.awaitingApproval{background:#8d99ae}
        .scheduled,.assigned{background:#e0c46c;color:#333}.completed{background:#3c9a5f}
        @keyframes pulse{50%{opacity:.6}}
        button{font:inherit;font-size:12px;border:1px solid #b8bdc9;background:#fff;border-radius:4px;padding:2px 9px;cursor:pointer}
        button.play{border-color:#3c9a5f;color:#2d7a49}button.rerun,button.rerun-failed{color:#4a5060}button:disabled{opacity:.5}
        .paused{color:#b45309;font-size:12px}
        table{border-collapse:collapse;background:#fff;box-shadow:0 1px 2px rgba(0,0,0,.12);border-radius:6px;min-width:60%}
        th,td{text-align:left;padding:6px 12px;border-bottom:1px solid #eceef2;font-size:13px}th{background:#fafbfc;color:#555}
        pre.console{background:#1e1f29;color:#e6e6e6;padding:12px;border-radius:6px;overflow:auto;max-height:70vh;font-size:12.5px;white-space:pre-wrap}
        .vsm{display:flex;gap:28px;align-items:center;margin:8px 0}.vsm .column{display:flex;flex-direction:column;gap:8px}
        .node{background:#fff;border:2px solid #c9ccd4;border-radius:6px;padding:6px 10px;font-size:12px;min-width:150px}
        .node.self{border-color:#2b2d42}.node .stages{margin-top:4px}.arrow{font-size:22px;color:#8d99ae}
        #flash{position:fixed;bottom:16px;right:16px;padding:10px 14px;border-radius:6px;color:#fff}#flash.ok{background:#3c9a5f}#flash.error{background:#d64545}
        .muted{color:#777}.mono{font-family:ui-monospace,Menlo,monospace;font-size:12px}
        """
}

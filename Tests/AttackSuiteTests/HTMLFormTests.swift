import BatonAttack
import Testing

/// The suite reads forms the way a browser does, so that an implementation's markup
/// (any spelling HTML allows) never fails a case for the wrong reason.
@Suite("Forms are read from HTML as a browser reads them")
struct HTMLFormTests {
    @Test("double-quoted attributes, as Baton's templates write them")
    func doubleQuoted() throws {
        let html = """
            <form method="post" action="/login">
              <input type="hidden" name="continue" value="/reports?x=1">
              <input type="hidden" name="csrf" value="abc123">
              <input id="username" name="username" autocomplete="username" required autofocus>
              <input id="password" name="password" type="password" required>
              <button type="submit">Sign in</button>
            </form>
            """
        let form = try #require(HTMLForm.signIn(in: html))
        #expect(form.fields.map(\.name) == ["continue", "csrf", "username", "password"])
        #expect(form.value("continue") == "/reports?x=1")
        #expect(form.value("csrf") == "abc123")
        #expect(form.value("username") == "")
    }

    @Test("unquoted attributes: <form method=post action=/logout>")
    func unquoted() throws {
        let html = "<p>Hello</p><form method=post action=/logout><input type=hidden name=csrf value=t0k3n-_x><button>Out</button></form>"
        let form = try #require(HTMLForm.logout(in: html))
        #expect(form.fields.map(\.name) == ["csrf"])
        #expect(form.value("csrf") == "t0k3n-_x")
        #expect(form.method == "post")
    }

    @Test("single-quoted attributes, and a double quote inside them")
    func singleQuoted() throws {
        let html = "<form method='post' action='/login'><input type='hidden' name='csrf' value='a\"b'><input name='continue' value='/'></form>"
        let form = try #require(HTMLForm.signIn(in: html))
        #expect(form.value("csrf") == "a\"b")
        #expect(form.value("continue") == "/")
    }

    @Test("uppercase tag, attribute and method names; attributes without values; odd spacing")
    func uppercase() throws {
        let html = """
            <FORM METHOD="POST" ACTION = "/login" NOVALIDATE>
            <INPUT TYPE=HIDDEN NAME=CSRF_Token VALUE="Xy" READONLY>
            <Input Name="continue"
                   Value="/">
            </FORM>
            """
        let form = try #require(HTMLForm.signIn(in: html))
        // Names of attributes are case-insensitive; the values (a field's name) are not.
        #expect(form.fields.map(\.name) == ["CSRF_Token", "continue"])
        #expect(form.value("CSRF_Token") == "Xy")
        #expect(form.value("continue") == "/")
    }

    @Test("character references in values: named, decimal, hexadecimal, and legacy without ;")
    func entities() throws {
        let html = """
            <form method="post" action="/login?from=a&amp;b=c">
            <input type="hidden" name="continue" value="/x?a=1&amp;b=2&#38;c=&#x33;&quot;&lt;&gt;&apos;">
            <input type="hidden" name="csrf" value="&#47;&sol;&#x2F">
            <input type="hidden" name="legacy" value="&amp x &copy=1 &notanentity;">
            </form>
            """
        let form = try #require(HTMLForm.signIn(in: html))
        #expect(form.action == "/login?from=a&b=c")
        #expect(form.value("continue") == "/x?a=1&b=2&c=3\"<>'")
        #expect(form.value("csrf") == "///")
        // In an attribute, `&copy=` stays as written (it reads as a query parameter).
        #expect(form.value("legacy") == "& x &copy=1 &notanentity;")
    }

    @Test("each form keeps its own inputs; the one asked for is found by action and method")
    func severalForms() throws {
        let html = """
            <form action="/search"><input name="q" value="x"></form>
            <form method="get" action="/logout"><input name="csrf" value="wrong"></form>
            <form method="post" action="/logout"><input type="hidden" name="csrf" value="right"></form>
            <form method="post" action="/sessions/end"><input type="hidden" name="csrf" value="other"><input name="sid" value="s"></form>
            """
        #expect(HTMLForm.forms(in: html).count == 4)
        let logout = try #require(HTMLForm.logout(in: html))
        #expect(logout.fields.map(\.value) == ["right"])
        #expect(HTMLForm.signIn(in: html) == nil)
        #expect(HTMLForm.form(in: html, action: "/search")?.value("q") == "x")
    }

    @Test("buttons, unchecked boxes and disabled inputs are not submitted; textareas are")
    func submission() throws {
        let html = """
            <form method="post" action="/login">
            <input type="submit" name="go" value="Sign in"><input type="image" name="img">
            <input type="checkbox" name="remember"><input type="checkbox" name="terms" checked>
            <input name="off" value="x" disabled><textarea name="note">
            line &amp; more</textarea>
            </form>
            """
        let form = try #require(HTMLForm.signIn(in: html))
        #expect(form.fields.map(\.name) == ["terms", "note"])
        #expect(form.value("terms") == "on")
        #expect(form.value("note") == "line & more")
    }

    @Test("comments, scripts and a '>' inside a quoted value hide no form and invent none")
    func markupThatIsNotATag() throws {
        let html = """
            <!-- <form method="post" action="/login"><input name="fake" value="1"></form> -->
            <script>document.write('<form method="post" action="/login"><input name="fake2">')</script>
            <form method="post" action="/login"><input type="hidden" name="csrf" value="a>b"><input name="continue" value="/"></form>
            """
        let forms = HTMLForm.forms(in: html)
        #expect(forms.count == 1)
        #expect(forms.first?.fields.map(\.name) == ["csrf", "continue"])
        #expect(forms.first?.value("csrf") == "a>b")
    }

    @Test("a form nested in another is ignored, and a control's form attribute names its form")
    func ownership() throws {
        let html = """
            <form id="out" method="post" action="/logout"><form action="/inner"><input name="a" value="1"></form>
            <input name="b" value="2" form="in">
            <form id="in" method="post" action="/login"><input name="c" value="3"></form>
            """
        let forms = HTMLForm.forms(in: html)
        #expect(forms.map(\.action) == ["/logout", "/login"])
        #expect(HTMLForm.logout(in: html)?.fields.map(\.name) == ["a"])
        #expect(HTMLForm.signIn(in: html)?.fields.map(\.name) == ["b", "c"])
    }

    @Test("the action resolves against the page: absolute, relative and empty")
    func actionResolution() throws {
        let page = "http://login.localhost:8080/login?continue=%2F"
        let absolute = "<form method=post action='http://login.localhost:8080/login'><input name=a></form>"
        #expect(HTMLForm.signIn(in: absolute, pageURL: page)?.target(from: page) == "http://login.localhost:8080/login")
        let relative = "<form method=post action='login'><input name=a></form>"
        #expect(HTMLForm.signIn(in: relative, pageURL: page)?.target(from: page) == "http://login.localhost:8080/login")
        let empty = "<form method=post><input name=a></form>"
        #expect(HTMLForm.signIn(in: empty, pageURL: page)?.target(from: page) == page)
        #expect(HTMLForm.signIn(in: empty) == nil)
    }

    @Test("filling a form replaces typed fields in place and keeps the hidden ones")
    func filling() throws {
        let html = "<form method=post action=/login><input name=continue value=/><input name=csrf value=t><input name=username></form>"
        let form = try #require(HTMLForm.signIn(in: html))
        let filled = form.filled([("username", "alice"), ("password", "pw"), ("continue", "/x")])
        #expect(filled.map(\.0) == ["continue", "csrf", "username", "password"])
        #expect(filled.map(\.1) == ["/x", "t", "alice", "pw"])
    }

    @Test("the page-wide helpers still read every input")
    func pageWide() {
        let html = "<INPUT name=csrf value=one><input name='continue' value=\"/\">"
        #expect(HTMLForm.value("csrf", in: html) == "one")
        #expect(HTMLForm.inputs(in: html).map(\.name) == ["csrf", "continue"])
    }

    @Test("tags are tokenized with lowercased names and their first attribute of a name")
    func tokenizer() {
        let tags = HTMLTokenizer.startTags(in: "<A HREF=/x href=/y Data-X='1' checked/><br/>")
        #expect(tags.map(\.name) == ["a", "br"])
        #expect(tags.first?.attribute("href") == "/x")
        #expect(tags.first?.attribute("DATA-X") == "1")
        #expect(tags.first?.has("checked") == true)
        #expect(tags.last?.selfClosing == true)
    }
}

# Attack: an exception message carrying terminal escape sequences: an OSC 8 hyperlink
# that hides where it points, an OSC 52 clipboard write (a command for the instructor to
# paste), a CSI that clears the screen and prints a fake verdict in red, and rich markup.
# Expected: `grader grade` prints every one of them as visible escapes (\x1b...), never
# the ESC byte itself, and rich shows `[bold]` as text.
import base64

ESC, BEL = chr(27), chr(7)
LINK = f"{ESC}]8;;https://evil.example/{ESC}\\click here{ESC}]8;;{ESC}\\"
CLIPBOARD = f"{ESC}]52;c;{base64.b64encode(b'rm -rf ~').decode()}{BEL}"
SCREEN = f"{ESC}[2J{ESC}[1;31mgrader: 100 / 100{ESC}[0m"
print(f"stdout too: {CLIPBOARD}")
raise RuntimeError(f"intake-escapes {LINK} {CLIPBOARD} {SCREEN} [bold]markup[/bold]")

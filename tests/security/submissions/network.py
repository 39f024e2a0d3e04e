# Attack: open network connections (exfiltrate, download answers): TCP to public
# addresses, DNS, HTTP. Expected: no route, no resolver; "CONNECTED" is never printed.
import socket
import urllib.request

for host, port in (("1.1.1.1", 53), ("8.8.8.8", 443), ("142.250.1.1", 80)):
    s = socket.socket()
    s.settimeout(3)
    try:
        s.connect((host, port))
        print("CONNECTED:", host, port)
    except OSError as exc:
        print("refused:", host, type(exc).__name__)
    finally:
        s.close()
try:
    print("CONNECTED: resolved", socket.gethostbyname("example.com"))
except OSError as exc:
    print("refused: dns", type(exc).__name__)
try:
    urllib.request.urlopen("http://example.com/", timeout=3)
    print("CONNECTED: http")
except Exception as exc:  # noqa: BLE001
    print("refused: http", type(exc).__name__)

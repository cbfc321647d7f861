import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * A throwaway certificate authority made with openssl (the README shows the same commands):
 * a server certificate for 127.0.0.1/localhost and a client certificate, both signed by the CA.
 */
export function makeTestCa(dir: string, name: string) {
  const file = (suffix: string) => join(dir, `${name}-${suffix}`);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
  openssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "2",
    "-subj",
    `/CN=${name} test CA`,
    "-keyout",
    file("ca.key"),
    "-out",
    file("ca.pem"),
  );
  const sign = (who: string, extensions: string) => {
    writeFileSync(file(`${who}.ext`), extensions);
    openssl(
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-subj",
      `/CN=${name} ${who}`,
      "-keyout",
      file(`${who}.key`),
      "-out",
      file(`${who}.csr`),
    );
    openssl(
      "x509",
      "-req",
      "-in",
      file(`${who}.csr`),
      "-CA",
      file("ca.pem"),
      "-CAkey",
      file("ca.key"),
      "-CAcreateserial",
      "-days",
      "2",
      "-extfile",
      file(`${who}.ext`),
      "-out",
      file(`${who}.pem`),
    );
  };
  sign("server", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  sign("client", "extendedKeyUsage=clientAuth\n");
  return {
    ca: file("ca.pem"),
    serverCert: file("server.pem"),
    serverKey: file("server.key"),
    clientCert: file("client.pem"),
    clientKey: file("client.key"),
  };
}

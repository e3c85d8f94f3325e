//! Certificates for the TLS tests, made at test time with rcgen (nothing checked in, nothing
//! expires): a CA, and a server certificate it signs for `localhost` and `127.0.0.1`, as PEM
//! files in a fresh temporary folder.
#![allow(dead_code)]

use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

/// A test PKI on disk: the CA's certificate, and the server's certificate and key.
pub struct TestPki {
    /// The folder holding the files (removed on drop).
    pub dir: PathBuf,
    /// The CA certificate (PEM): what a client must trust.
    pub ca: PathBuf,
    /// The server certificate (PEM), signed by the CA, for `localhost` and `127.0.0.1`.
    pub cert: PathBuf,
    /// The server's private key (PEM, PKCS#8).
    pub key: PathBuf,
}

impl Drop for TestPki {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A new CA and server certificate, written under the system's temporary folder.
pub fn make_pki(name: &str) -> TestPki {
    static SEQ: AtomicUsize = AtomicUsize::new(0);
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("rfc6455-tls-{}-{name}-{n}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("temp dir");

    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, format!("rfc6455 test CA {name}"));
    let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
    let issuer = Issuer::new(ca_params, ca_key);

    let key = KeyPair::generate().expect("server key");
    let mut params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .expect("server params");
    params.distinguished_name.push(DnType::CommonName, "localhost");
    let cert = params.signed_by(&key, &issuer).expect("server certificate");

    let pki = TestPki {
        ca: dir.join("ca.pem"),
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
        dir,
    };
    fs::write(&pki.ca, ca_cert.pem()).expect("write ca.pem");
    fs::write(&pki.cert, cert.pem()).expect("write cert.pem");
    fs::write(&pki.key, key.serialize_pem()).expect("write key.pem");
    pki
}

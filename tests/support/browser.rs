//! A real headless Chromium for the console's browser tests: Debian's `chromium` driven by
//! its `chromedriver` over WebDriver (fantoccini). [`Browser::find`] returns `None`, after
//! printing `SKIPPED`, when either is missing, unless `YUQING_REQUIRE_BROWSER` is set (as
//! `.ci/run` does), which makes a missing browser a failure.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder};

use super::wait_for;

/// Chromium and chromedriver, found on `PATH`.
pub struct Browser {
    chromium: PathBuf,
    driver: PathBuf,
}

/// chromedriver on a free port, killed on drop.
pub struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|n| {
        std::env::split_paths(&path)
            .map(|d| d.join(n))
            .find(|p| p.is_file())
    })
}

/// A port free on 127.0.0.1 right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Browser {
    /// Chromium and chromedriver, or `None` (with a `SKIPPED` line naming `test`).
    pub fn find(test: &str) -> Option<Browser> {
        match (
            on_path(&["chromium", "chromium-browser", "google-chrome"]),
            on_path(&["chromedriver"]),
        ) {
            (Some(chromium), Some(driver)) => Some(Browser { chromium, driver }),
            _ => {
                assert!(
                    std::env::var("YUQING_REQUIRE_BROWSER").is_err(),
                    "YUQING_REQUIRE_BROWSER is set but chromium/chromedriver are missing"
                );
                eprintln!(
                    "SKIPPED {test}: chromium and chromedriver not found on PATH \
                     (apt-get install chromium chromium-driver)"
                );
                None
            }
        }
    }

    /// Start chromedriver (call outside the async runtime: it waits for the port).
    pub fn driver(&self) -> Driver {
        let port = free_port();
        let child = Command::new(&self.driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let d = Driver { child, port };
        wait_for("chromedriver", Duration::from_secs(60), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        d
    }

    /// A headless session (1280×1000, zh-CN) through `driver`.
    pub async fn client(&self, driver: &Driver) -> Client {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": self.chromium.display().to_string(),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,1000", "--lang=zh-CN"],
            }),
        );
        ClientBuilder::rustls()
            .expect("TLS roots")
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .expect("a WebDriver session")
    }
}

/// Where screenshots go: `target/tmp/browser-artifacts/`.
pub fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Save a screenshot of the current page as `NAME.png` among the artifacts.
pub async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(artifacts().join(format!("{name}.png")), png).unwrap();
}

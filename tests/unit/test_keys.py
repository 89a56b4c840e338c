from dashboard.bullmq.keys import STATES, QueueKeys, meta_pattern, queue_from_meta_key


def test_state_keys_follow_bullmq_layout() -> None:
    keys = QueueKeys("bull", "mail")
    assert keys.state("waiting") == "bull:mail:wait"
    assert keys.state("waiting-children") == "bull:mail:waiting-children"
    assert keys.meta == "bull:mail:meta"
    assert keys.job("42") == "bull:mail:42"
    assert keys.job_logs("42") == "bull:mail:42:logs"


def test_hash_tag_prefix_is_kept_verbatim() -> None:
    assert QueueKeys("{bull}", "mail").state("failed") == "{bull}:mail:failed"
    assert meta_pattern("{bull}") == "{bull}:*:meta"


def test_glob_characters_in_prefix_are_escaped() -> None:
    assert meta_pattern("a[b]*") == "a\\[b\\]\\*:*:meta"


def test_queue_name_from_meta_key() -> None:
    assert queue_from_meta_key("bull", "bull:mail:meta") == "mail"
    assert queue_from_meta_key("bull", "bull:mail:42:meta") is None
    assert queue_from_meta_key("bull", "other:mail:meta") is None


def test_states_are_node_getjobcounts_names() -> None:
    assert STATES == (
        "active",
        "completed",
        "delayed",
        "failed",
        "paused",
        "prioritized",
        "waiting",
        "waiting-children",
    )

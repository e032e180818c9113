from parkpal_lakehouse.runtime.kafka_broker import _cluster_id


def test_cluster_ids_never_look_like_an_option():
    """A base64 id starting with "-" made Kafka's storage tool print its usage (a 1-in-64 CI failure)."""
    ids = {_cluster_id() for _ in range(5000)}
    assert len(ids) == 5000
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)

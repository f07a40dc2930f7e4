import io.apicurio.registry.serde.avro.AvroKafkaSerializer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.DecoderFactory;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Produces Avro records with Apicurio's own Kafka serializer, which registers the schema and
 * frames each value with the id it got. Arguments: bootstrap, registry v3 API URL, topic, schema
 * file, records file (one JSON record per line, in Avro's JSON encoding), then serializer settings
 * as key=value (e.g. apicurio.registry.use-id=globalId). Prints nothing on success.
 */
public final class ApicurioAvroProducer {
  public static void main(String[] args) throws Exception {
    if (args.length < 5) {
      System.err.println("usage: ApicurioAvroProducer BOOTSTRAP REGISTRY_URL TOPIC SCHEMA_FILE RECORDS_FILE [key=value...]");
      System.exit(2);
    }
    Schema schema = new Schema.Parser().parse(Files.readString(Path.of(args[3])));
    List<String> lines = Files.readAllLines(Path.of(args[4]));

    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, AvroKafkaSerializer.class.getName());
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put("apicurio.registry.url", args[1]);
    props.put("apicurio.registry.auto-register", "true");
    for (int i = 5; i < args.length; i++) {
      int eq = args[i].indexOf('=');
      if (eq <= 0) throw new IllegalArgumentException("setting without '=': " + args[i]);
      props.put(args[i].substring(0, eq), args[i].substring(eq + 1));
    }

    GenericDatumReader<GenericRecord> reader = new GenericDatumReader<>(schema);
    try (KafkaProducer<String, GenericRecord> producer = new KafkaProducer<>(props)) {
      int n = 0;
      for (String line : lines) {
        if (line.isBlank()) continue;
        GenericRecord value = reader.read(null, DecoderFactory.get().jsonDecoder(schema, line));
        producer.send(new ProducerRecord<>(args[2], "k" + n++, value)).get();
      }
      producer.flush();
    }
  }
}
